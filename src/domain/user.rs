//! Users, roles and who sees which clients.

use serde::{Deserialize, Serialize};

use crate::domain::contact::normalize_email;
use crate::domain::error::FieldError;

text_enum! {
    pub enum Role {
        Admin => ("admin", "Administrador"),
        Supervisor => ("supervisor", "Supervisor"),
        Advisor => ("advisor", "Asesor"),
    }
}

impl Role {
    /// Clients are assigned to advisors and to supervisors (who may keep a portfolio of
    /// their own); administrators see everything and carry none.
    pub fn can_hold_clients(self) -> bool {
        !matches!(self, Role::Admin)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub supervisor_id: Option<i64>,
    pub supervisor_name: Option<String>,
    pub filter_unlocked: bool,
    pub active: bool,
    pub is_demo: bool,
    /// The advisor's own phone, rung first by click-to-call; empty when not given.
    #[serde(default)]
    pub phone: String,
}

/// An account that received many failed logins in the last day: the administrators
/// see it on the users page instead of the account being locked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginAlert {
    pub email: String,
    pub failures: i64,
    /// Distinct client addresses the failures came from.
    pub addresses: i64,
    /// The last failure, in the organisation's time.
    pub last_at: chrono::NaiveDateTime,
}

impl LoginAlert {
    pub fn sentence(&self) -> String {
        let from = if self.addresses == 1 {
            "1 dirección".to_string()
        } else {
            format!("{} direcciones", self.addresses)
        };
        format!(
            "{}: {} intentos fallidos de ingreso desde {from} en las últimas 24 horas (el último a las {}). La cuenta sigue activa; si no fue su titular, cambie la contraseña.",
            self.email,
            self.failures,
            self.last_at.format("%d/%m/%Y %H:%M")
        )
    }
}

impl User {
    /// The form's starting point when editing this user (the password stays empty).
    pub fn to_input(&self) -> UserInput {
        UserInput {
            name: self.name.clone(),
            email: self.email.clone(),
            role: self.role.as_str().into(),
            supervisor_id: self.supervisor_id,
            filter_unlocked: self.filter_unlocked,
            active: self.active,
            password: String::new(),
            phone: self.phone.clone(),
        }
    }
}

/// What the user form sends. `password` is required when creating and optional when
/// editing (empty keeps the current one).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInput {
    pub name: String,
    pub email: String,
    pub role: String,
    pub supervisor_id: Option<i64>,
    pub filter_unlocked: bool,
    pub active: bool,
    pub password: String,
    /// International format; empty for none.
    #[serde(default)]
    pub phone: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidUser {
    pub name: String,
    pub email: String,
    pub role: Role,
    pub supervisor_id: Option<i64>,
    pub filter_unlocked: bool,
    pub active: bool,
    pub password: Option<String>,
    pub phone: String,
}

pub const MIN_PASSWORD_CHARS: usize = 10;

pub fn validate_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        Err(format!(
            "La contraseña debe tener al menos {MIN_PASSWORD_CHARS} caracteres."
        ))
    } else if n > 128 {
        Err("La contraseña no puede superar los 128 caracteres.".into())
    } else {
        Ok(())
    }
}

impl UserInput {
    pub fn validate(&self, creating: bool) -> Result<ValidUser, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_string();
        if name.is_empty() {
            errors.push(FieldError::new("name", "Escribe el nombre."));
        } else if name.chars().count() > 120 {
            errors.push(FieldError::new(
                "name",
                "El nombre no puede superar los 120 caracteres.",
            ));
        }
        let email = normalize_email(&self.email)
            .map_err(|m| errors.push(FieldError::new("email", m)))
            .ok();
        let role = self
            .role
            .parse::<Role>()
            .map_err(|_| errors.push(FieldError::new("role", "Elige un rol.")))
            .ok();
        if role != Some(Role::Advisor) && self.supervisor_id.is_some() {
            errors.push(FieldError::new(
                "supervisor_id",
                "Solo los asesores tienen supervisor.",
            ));
        }
        let phone = if self.phone.trim().is_empty() {
            String::new()
        } else {
            crate::domain::contact::normalize_phone(self.phone.trim(), "").unwrap_or_else(|_| {
                errors.push(FieldError::new(
                    "phone",
                    "Escribe el teléfono con su código de país: +57 300 123 4567.",
                ));
                String::new()
            })
        };
        let password = if self.password.is_empty() && !creating {
            None
        } else {
            if let Err(m) = validate_password(&self.password) {
                errors.push(FieldError::new("password", m));
            }
            Some(self.password.clone())
        };
        match (email, role) {
            (Some(email), Some(role)) if errors.is_empty() => Ok(ValidUser {
                name,
                email,
                role,
                supervisor_id: self.supervisor_id,
                filter_unlocked: self.filter_unlocked,
                active: self.active,
                password,
                phone,
            }),
            _ => Err(errors),
        }
    }
}

/// The set of clients a query may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    All,
    /// Clients assigned to this advisor.
    Advisor(i64),
    /// Clients whose denormalised `supervisor_id` is this user: those of the supervisor's
    /// advisors and those assigned to the supervisor directly.
    Supervisor(i64),
}

/// The signed-in user, built once per request from the session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// "Filtro activo por usuario": may switch from "Clientes asociados" to "Todos".
    pub filter_unlocked: bool,
    /// Whether any client is associated with this user (assigned to them, or to their
    /// team for a supervisor). A user with none sees every client.
    pub has_clients: bool,
}

impl Viewer {
    /// "Clientes asociados": the default, and the only choice while the filter is locked.
    pub fn associated_scope(&self) -> Scope {
        match self.role {
            Role::Admin => Scope::All,
            _ if !self.has_clients => Scope::All,
            Role::Advisor => Scope::Advisor(self.user_id),
            Role::Supervisor => Scope::Supervisor(self.user_id),
        }
    }

    /// Whether the "Clientes asociados / Todos los clientes" choice is open to this user.
    pub fn may_see_all(&self) -> bool {
        self.associated_scope() == Scope::All || self.filter_unlocked
    }

    /// The scope for a list: everything only when asked for and allowed.
    pub fn list_scope(&self, want_all: bool) -> Scope {
        if want_all && self.may_see_all() {
            Scope::All
        } else {
            self.associated_scope()
        }
    }

    /// The widest scope this user may read a single client in.
    pub fn read_scope(&self) -> Scope {
        self.list_scope(true)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// A user a client could be assigned to, as far as the assignment rules care.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct Assignee {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub supervisor_id: Option<i64>,
    pub active: bool,
}

impl Assignee {
    /// The client's denormalised `supervisor_id` when assigned to this user.
    pub fn team_supervisor(&self) -> Option<i64> {
        match self.role {
            Role::Supervisor => Some(self.id),
            _ => self.supervisor_id,
        }
    }
}

impl Viewer {
    /// Admins assign to anyone who holds clients; supervisors within their team (their
    /// advisors and themselves); advisors only to themselves.
    pub fn may_assign_to(&self, target: &Assignee) -> bool {
        target.active
            && target.role.can_hold_clients()
            && match self.role {
                Role::Admin => true,
                Role::Supervisor => {
                    target.id == self.user_id || target.supervisor_id == Some(self.user_id)
                }
                Role::Advisor => target.id == self.user_id,
            }
    }

    /// Whether this user may reassign clients at all (the bulk action).
    pub fn may_reassign(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Supervisor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assignee(id: i64, role: Role, supervisor_id: Option<i64>) -> Assignee {
        Assignee {
            id,
            name: format!("U{id}"),
            role,
            supervisor_id,
            active: true,
        }
    }

    #[test]
    fn assignment_follows_the_team() {
        let own_advisor = assignee(20, Role::Advisor, Some(7));
        let other_advisor = assignee(21, Role::Advisor, Some(8));
        let myself = assignee(7, Role::Supervisor, None);
        let admin = assignee(1, Role::Admin, None);

        let sup = viewer(Role::Supervisor, true, false);
        assert!(sup.may_assign_to(&own_advisor));
        assert!(sup.may_assign_to(&myself));
        assert!(!sup.may_assign_to(&other_advisor));

        let adm = viewer(Role::Admin, false, false);
        assert!(adm.may_assign_to(&other_advisor));
        assert!(!adm.may_assign_to(&admin), "admins hold no clients");
        assert!(!adm.may_assign_to(&Assignee {
            active: false,
            ..other_advisor.clone()
        }));

        let adv = viewer(Role::Advisor, true, false);
        assert!(!adv.may_assign_to(&own_advisor));
        assert!(adv.may_assign_to(&assignee(7, Role::Advisor, Some(3))));
        assert!(!adv.may_reassign());
    }

    #[test]
    fn the_team_supervisor_is_denormalised_from_the_assignee() {
        assert_eq!(
            assignee(20, Role::Advisor, Some(7)).team_supervisor(),
            Some(7)
        );
        assert_eq!(assignee(20, Role::Advisor, None).team_supervisor(), None);
        assert_eq!(
            assignee(7, Role::Supervisor, None).team_supervisor(),
            Some(7)
        );
    }

    fn viewer(role: Role, has_clients: bool, unlocked: bool) -> Viewer {
        Viewer {
            user_id: 7,
            name: "X".into(),
            email: "x@y.co".into(),
            role,
            filter_unlocked: unlocked,
            has_clients,
        }
    }

    #[test]
    fn advisors_and_supervisors_see_their_own_portfolio_by_default() {
        assert_eq!(
            viewer(Role::Advisor, true, false).associated_scope(),
            Scope::Advisor(7)
        );
        assert_eq!(
            viewer(Role::Supervisor, true, false).associated_scope(),
            Scope::Supervisor(7)
        );
        assert_eq!(
            viewer(Role::Admin, true, false).associated_scope(),
            Scope::All
        );
    }

    #[test]
    fn a_user_without_associated_clients_sees_all() {
        for role in [Role::Advisor, Role::Supervisor] {
            let v = viewer(role, false, false);
            assert_eq!(v.associated_scope(), Scope::All);
            assert_eq!(v.read_scope(), Scope::All);
        }
    }

    #[test]
    fn the_filter_opens_only_when_unlocked() {
        let locked = viewer(Role::Advisor, true, false);
        assert!(!locked.may_see_all());
        assert_eq!(locked.list_scope(true), Scope::Advisor(7));
        assert_eq!(locked.read_scope(), Scope::Advisor(7));

        let unlocked = viewer(Role::Supervisor, true, true);
        assert!(unlocked.may_see_all());
        assert_eq!(unlocked.list_scope(false), Scope::Supervisor(7));
        assert_eq!(unlocked.list_scope(true), Scope::All);
    }

    fn input(role: &str) -> UserInput {
        UserInput {
            name: " Ana Díaz ".into(),
            email: "Ana@Recaudo.co".into(),
            role: role.into(),
            supervisor_id: None,
            filter_unlocked: false,
            active: true,
            password: "una-clave-larga".into(),
            phone: String::new(),
        }
    }

    #[test]
    fn an_advisors_phone_is_international_or_empty() {
        let with = UserInput {
            phone: "+57 300 123 4567".into(),
            ..input("advisor")
        };
        assert_eq!(with.validate(true).unwrap().phone, "+573001234567");
        assert_eq!(input("advisor").validate(true).unwrap().phone, "");
        let local = UserInput {
            phone: "300 123 4567".into(),
            ..input("advisor")
        };
        assert_eq!(local.validate(true).unwrap_err()[0].field, "phone");
    }

    #[test]
    fn a_valid_user_is_normalised() {
        let v = input("advisor").validate(true).unwrap();
        assert_eq!(v.name, "Ana Díaz");
        assert_eq!(v.email, "ana@recaudo.co");
        assert_eq!(v.role, Role::Advisor);
        assert_eq!(v.password.as_deref(), Some("una-clave-larga"));
    }

    #[test]
    fn every_bad_field_is_reported_beside_itself() {
        let bad = UserInput {
            name: "".into(),
            email: "no-es-correo".into(),
            role: "jefe".into(),
            supervisor_id: Some(3),
            password: "corta".into(),
            ..input("advisor")
        };
        let errors = bad.validate(true).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["name", "email", "role", "supervisor_id", "password"]
        );
    }

    #[test]
    fn only_advisors_have_a_supervisor() {
        let with_sup = UserInput {
            supervisor_id: Some(3),
            ..input("advisor")
        };
        assert_eq!(with_sup.validate(true).unwrap().supervisor_id, Some(3));
        let sup_with_sup = UserInput {
            supervisor_id: Some(3),
            ..input("supervisor")
        };
        assert_eq!(
            sup_with_sup.validate(true).unwrap_err()[0].field,
            "supervisor_id"
        );
    }

    #[test]
    fn editing_may_keep_the_password() {
        let keep = UserInput {
            password: String::new(),
            ..input("admin")
        };
        assert_eq!(keep.validate(false).unwrap().password, None);
        assert_eq!(keep.validate(true).unwrap_err()[0].field, "password");
    }
}
