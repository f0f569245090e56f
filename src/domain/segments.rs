//! Segmentación (seed 004 §8): a rule tree of variables joined by the Y / O connectors,
//! nested in groups. What the browser edits and the database stores is [`Rule`], with
//! values as typed; [`Rule::check`] turns it into a [`Tree`] whose every value has its
//! variable's type, or says in Spanish what is wrong with each condition. A tree is
//! evaluated here, in memory, on a client's [`Facts`], and compiled to SQL on the server
//! (`server::segments::sql`); both must agree on every client.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::alerts::{AlertKey, AlertKind, Contactability};
use crate::domain::calls::PromiseState;
use crate::domain::client::ClientKind;
use crate::domain::debt::days_overdue;
use crate::domain::error::FieldError;
use crate::domain::message::Channel;
use crate::domain::money::{format_cents, parse_amount, MAX_CENTS};

text_enum! {
    /// The variables a condition can test.
    pub enum Variable {
        DaysOverdue => ("days_overdue", "Días de atraso"),
        OverdueAmount => ("overdue_amount", "Monto vencido"),
        UnpaidOrders => ("unpaid_orders", "Órdenes impagas"),
        Portfolio => ("portfolio", "Cartera / segmento"),
        Product => ("product", "Producto (con saldo)"),
        ClientKind => ("client_kind", "Tipo de cliente"),
        Country => ("country", "País"),
        Advisor => ("advisor", "Asesor"),
        Supervisor => ("supervisor", "Supervisor"),
        NonPaymentAlert => ("non_payment_alert", "Alerta: Problema de no pago"),
        PaymentProblem => ("payment_problem", "Problemas de pago"),
        ContactabilityAlert => ("contactability_alert", "Alerta: Problema de contactabilidad"),
        Contactability => ("contactability", "Contactabilidad"),
        PromiseState => ("promise_state", "Último compromiso de pago"),
        PendingInbound => ("pending_inbound", "Mensajes sin responder"),
        DaysSinceContact => ("days_since_contact", "Días desde el último contacto"),
        ChannelAvailable => ("channel_available", "Canal disponible"),
    }
}

text_enum! {
    pub enum Op {
        Eq => ("eq", "es"),
        Ne => ("ne", "no es"),
        Gt => ("gt", "mayor que"),
        Ge => ("ge", "mayor o igual que"),
        Lt => ("lt", "menor que"),
        Le => ("le", "menor o igual que"),
    }
}

text_enum! {
    /// How the members of a group are joined.
    pub enum Connector {
        And => ("and", "Y"),
        Or => ("or", "O"),
    }
}

/// What kind of value a variable takes, which decides its operators and its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValueKind {
    /// Whole days.
    Days,
    /// An amount of money, typed as the users write it ("1.500,50").
    Money,
    /// A whole count.
    Count,
    /// One of a list of choices ([`Variable::choices`], or the organisation's values).
    Choice,
    /// Sí / No.
    YesNo,
}

impl Variable {
    pub fn kind(self) -> ValueKind {
        match self {
            Variable::DaysOverdue | Variable::DaysSinceContact => ValueKind::Days,
            Variable::OverdueAmount => ValueKind::Money,
            Variable::UnpaidOrders => ValueKind::Count,
            Variable::ContactabilityAlert | Variable::PendingInbound => ValueKind::YesNo,
            _ => ValueKind::Choice,
        }
    }

    /// The operators the variable allows.
    pub fn ops(self) -> &'static [Op] {
        match self.kind() {
            ValueKind::Days | ValueKind::Money | ValueKind::Count => Op::ALL,
            ValueKind::Choice => &[Op::Eq, Op::Ne],
            ValueKind::YesNo => &[Op::Eq],
        }
    }

    /// The fixed choices (stored value, label); the organisation's own lists (countries,
    /// portfolios, products, users) come from the database instead.
    pub fn choices(self) -> Vec<(String, String)> {
        fn of<T: Copy>(
            all: &[T],
            f: impl Fn(T) -> (&'static str, &'static str),
        ) -> Vec<(String, String)> {
            all.iter()
                .map(|v| {
                    let (s, l) = f(*v);
                    (s.to_string(), l.to_string())
                })
                .collect()
        }
        match self {
            Variable::ClientKind => of(ClientKind::ALL, |k| (k.as_str(), k.label())),
            Variable::NonPaymentAlert => of(&[AlertKind::WontPay, AlertKind::CantPay], |k| {
                (k.as_str(), k.label())
            }),
            Variable::PaymentProblem => {
                of(&[AlertKind::Restructuring, AlertKind::Refinancing], |k| {
                    (k.as_str(), k.label())
                })
            }
            Variable::Contactability => of(Contactability::ALL, |c| (c.as_str(), c.label())),
            Variable::PromiseState => {
                let mut v = vec![(NO_PROMISE.to_string(), "Sin compromiso".to_string())];
                v.extend(of(PromiseState::ALL, |p| (p.as_str(), p.label())));
                v
            }
            Variable::ChannelAvailable => of(&SEGMENT_CHANNELS, |c| (c.as_str(), c.label())),
            Variable::ContactabilityAlert | Variable::PendingInbound => {
                vec![("si".into(), "Sí".into()), ("no".into(), "No".into())]
            }
            _ => Vec::new(),
        }
    }
}

/// The stored value of "Último compromiso de pago" for a client who never promised.
pub const NO_PROMISE: &str = "none";

/// The channels "Canal disponible" asks about.
pub const SEGMENT_CHANNELS: [Channel; 4] = [
    Channel::WhatsApp,
    Channel::Email,
    Channel::Sms,
    Channel::Call,
];

/// Largest day count a condition takes (a hundred years).
pub const MAX_DAYS: i64 = 36_500;
pub const MAX_COUNT: i64 = 100_000;
pub const MAX_CONDITIONS: usize = 50;
pub const MAX_DEPTH: usize = 4;

/// One condition as typed: variable, operator and value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub variable: Variable,
    pub op: Op,
    pub value: String,
}

/// A rule as the builder edits it and the database stores it (JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rule {
    Group {
        connector: Connector,
        rules: Vec<Rule>,
    },
    Condition(Condition),
}

impl Default for Rule {
    /// An empty "Y" group: every client.
    fn default() -> Self {
        Rule::Group {
            connector: Connector::And,
            rules: Vec::new(),
        }
    }
}

/// Whole-number intervals, inclusive; `None` is unbounded. A condition on a number is
/// the union of one or two of them ("no es 5" is ..=4 and 6..).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span(pub Vec<(Option<i64>, Option<i64>)>);

impl Span {
    pub fn of(op: Op, n: i64) -> Span {
        Span(match op {
            Op::Eq => vec![(Some(n), Some(n))],
            Op::Ne => vec![(None, Some(n - 1)), (Some(n + 1), None)],
            Op::Gt => vec![(Some(n + 1), None)],
            Op::Ge => vec![(Some(n), None)],
            Op::Lt => vec![(None, Some(n - 1))],
            Op::Le => vec![(None, Some(n))],
        })
    }

    pub fn contains(&self, x: i64) -> bool {
        self.0
            .iter()
            .any(|(lo, hi)| lo.is_none_or(|l| x >= l) && hi.is_none_or(|h| x <= h))
    }
}

/// A checked condition: the value has its variable's type. `is` is false for "no es".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Test {
    DaysOverdue(Span),
    OverdueCents(Span),
    UnpaidOrders(Span),
    DaysSinceContact(Span),
    Portfolio {
        is: bool,
        value: String,
    },
    Product {
        is: bool,
        value: String,
    },
    Kind {
        is: bool,
        value: ClientKind,
    },
    Country {
        is: bool,
        value: String,
    },
    Advisor {
        is: bool,
        user_id: i64,
    },
    Supervisor {
        is: bool,
        user_id: i64,
    },
    /// One of the alert kinds (no quiere / no puede pagar, reestructuración,
    /// refinanciación, contactabilidad) raised or not.
    Alert {
        is: bool,
        kind: AlertKind,
    },
    Contactability {
        is: bool,
        value: Contactability,
    },
    /// `None`: no promise ever.
    Promise {
        is: bool,
        state: Option<PromiseState>,
    },
    PendingInbound(bool),
    Channel {
        is: bool,
        channel: Channel,
    },
}

/// A checked rule tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tree {
    All(Vec<Tree>),
    Any(Vec<Tree>),
    Test(Test),
}

/// What the rules look at of one client, read from its summary columns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    pub oldest_unpaid_due_date: Option<NaiveDate>,
    pub overdue_cents: i64,
    pub unpaid_orders: i64,
    pub portfolio: String,
    /// Products of the debts with something left to pay.
    pub products: Vec<String>,
    pub kind: Option<ClientKind>,
    pub country: String,
    pub advisor_id: Option<i64>,
    pub supervisor_id: Option<i64>,
    pub alert_key: AlertKey,
    /// The state of the newest promise.
    pub promise: Option<PromiseState>,
    pub pending_count: i64,
    /// The local day of the last message to or from the client.
    pub last_contact_day: Option<NaiveDate>,
    /// The channels the client (the debtor's own contact points) can be reached on.
    pub channels: Vec<Channel>,
}

fn parse_whole(raw: &str, max: i64, what: &str) -> Result<i64, String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(format!("Escribe {what}."));
    }
    match t.parse::<i64>() {
        Ok(n) if (0..=max).contains(&n) => Ok(n),
        Ok(_) => Err(format!("{} debe estar entre 0 y {max}.", capitalise(what))),
        Err(_) => Err(format!(
            "«{t}» no es un número entero: escribe {what} sin decimales."
        )),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn yes_no(raw: &str) -> Result<bool, String> {
    match raw.trim() {
        "si" => Ok(true),
        "no" => Ok(false),
        _ => Err("Elige Sí o No.".into()),
    }
}

fn choice<T: std::str::FromStr + PartialEq>(raw: &str, allowed: &[T]) -> Option<T> {
    raw.trim().parse::<T>().ok().filter(|v| allowed.contains(v))
}

impl Condition {
    /// The typed test, or why the condition cannot be used.
    pub fn check(&self) -> Result<Test, String> {
        let v = self.variable;
        if !v.ops().contains(&self.op) {
            let allowed: Vec<&str> = v.ops().iter().map(|o| o.label()).collect();
            return Err(format!(
                "«{}» no admite «{}»; usa: {}.",
                v.label(),
                self.op.label(),
                allowed.join(", ")
            ));
        }
        let is = self.op == Op::Eq;
        let raw = self.value.trim();
        let pick = |what: &str| -> Result<String, String> {
            if raw.is_empty() {
                Err(format!("Elige {what}."))
            } else if raw.chars().count() > 200 {
                Err("El valor es demasiado largo.".into())
            } else {
                Ok(raw.to_string())
            }
        };
        let id = |what: &str| -> Result<i64, String> {
            raw.parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("Elige {what} de la lista."))
        };
        let listed = |what: &str| -> String { format!("Elige {what} de la lista.") };
        Ok(match v {
            Variable::DaysOverdue => {
                Test::DaysOverdue(Span::of(self.op, parse_whole(raw, MAX_DAYS, "los días")?))
            }
            Variable::DaysSinceContact => {
                Test::DaysSinceContact(Span::of(self.op, parse_whole(raw, MAX_DAYS, "los días")?))
            }
            Variable::UnpaidOrders => Test::UnpaidOrders(Span::of(
                self.op,
                parse_whole(raw, MAX_COUNT, "la cantidad de órdenes")?,
            )),
            Variable::OverdueAmount => {
                let cents = parse_amount(raw)?;
                if cents > MAX_CENTS {
                    return Err("El monto es demasiado grande.".into());
                }
                Test::OverdueCents(Span::of(self.op, cents))
            }
            Variable::Portfolio => Test::Portfolio {
                is,
                value: pick("la cartera")?,
            },
            Variable::Product => Test::Product {
                is,
                value: pick("el producto")?,
            },
            Variable::Country => Test::Country {
                is,
                value: pick("el país")?.to_uppercase(),
            },
            Variable::ClientKind => Test::Kind {
                is,
                value: raw.parse().map_err(|_| listed("el tipo de cliente"))?,
            },
            Variable::Advisor => Test::Advisor {
                is,
                user_id: id("el asesor")?,
            },
            Variable::Supervisor => Test::Supervisor {
                is,
                user_id: id("el supervisor")?,
            },
            Variable::NonPaymentAlert | Variable::PaymentProblem => {
                let allowed: &[AlertKind] = if v == Variable::NonPaymentAlert {
                    &[AlertKind::WontPay, AlertKind::CantPay]
                } else {
                    &[AlertKind::Restructuring, AlertKind::Refinancing]
                };
                let kind = choice(raw, allowed).ok_or_else(|| listed("la alerta"))?;
                Test::Alert { is, kind }
            }
            Variable::ContactabilityAlert => Test::Alert {
                is: yes_no(raw)?,
                kind: AlertKind::Contactability,
            },
            Variable::Contactability => Test::Contactability {
                is,
                value: raw
                    .parse()
                    .map_err(|_| listed("el valor de contactabilidad"))?,
            },
            Variable::PromiseState => Test::Promise {
                is,
                state: if raw == NO_PROMISE {
                    None
                } else {
                    Some(
                        raw.parse()
                            .map_err(|_| listed("el estado del compromiso"))?,
                    )
                },
            },
            Variable::PendingInbound => Test::PendingInbound(yes_no(raw)?),
            Variable::ChannelAvailable => {
                let channel = choice(raw, &SEGMENT_CHANNELS).ok_or_else(|| listed("el canal"))?;
                Test::Channel { is, channel }
            }
        })
    }

    /// The condition as a sentence: "Días de atraso mayor que 30".
    pub fn describe(&self) -> String {
        let value = match self.variable.kind() {
            ValueKind::Money => parse_amount(&self.value)
                .map(format_cents)
                .unwrap_or_else(|_| self.value.clone()),
            _ => self
                .variable
                .choices()
                .into_iter()
                .find(|(s, _)| *s == self.value)
                .map_or_else(|| self.value.clone(), |(_, l)| l),
        };
        format!("{} {} {}", self.variable.label(), self.op.label(), value)
    }
}

impl Rule {
    /// Checks every condition. Errors name the condition by its number, counted from
    /// the top as the builder shows them ("Condición 3: …"). An empty top group is every
    /// client; an empty group inside it is refused.
    pub fn check(&self) -> Result<Tree, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut numbered = 0;
        let tree = self.check_at(0, &mut numbered, &mut errors);
        if numbered > MAX_CONDITIONS {
            errors.push(FieldError::new(
                "rule",
                format!("Un segmento admite como máximo {MAX_CONDITIONS} condiciones."),
            ));
        }
        if errors.is_empty() {
            Ok(tree)
        } else {
            Err(errors)
        }
    }

    fn check_at(&self, depth: usize, numbered: &mut usize, errors: &mut Vec<FieldError>) -> Tree {
        match self {
            Rule::Condition(c) => {
                *numbered += 1;
                match c.check() {
                    Ok(t) => Tree::Test(t),
                    Err(e) => {
                        errors.push(FieldError::new(
                            "rule",
                            format!("Condición {} ({}): {e}", numbered, c.variable.label()),
                        ));
                        Tree::All(Vec::new())
                    }
                }
            }
            Rule::Group { connector, rules } => {
                if depth >= MAX_DEPTH {
                    errors.push(FieldError::new(
                        "rule",
                        format!("Los grupos se pueden anidar hasta {MAX_DEPTH} niveles."),
                    ));
                }
                if depth > 0 && rules.is_empty() {
                    errors.push(FieldError::new(
                        "rule",
                        "Hay un grupo sin condiciones: añade una o quítalo.",
                    ));
                }
                let inner = rules
                    .iter()
                    .map(|r| r.check_at(depth + 1, numbered, errors))
                    .collect();
                match connector {
                    Connector::And => Tree::All(inner),
                    Connector::Or => Tree::Any(inner),
                }
            }
        }
    }

    /// Every condition, in the builder's order.
    pub fn conditions(&self) -> Vec<&Condition> {
        match self {
            Rule::Condition(c) => vec![c],
            Rule::Group { rules, .. } => rules.iter().flat_map(Rule::conditions).collect(),
        }
    }

    /// The rule in one line: "(Días de atraso mayor que 30 Y (… O …))".
    pub fn describe(&self) -> String {
        match self {
            Rule::Condition(c) => c.describe(),
            Rule::Group { rules, .. } if rules.is_empty() => "Todos los clientes".into(),
            Rule::Group { connector, rules } => {
                let parts: Vec<String> = rules
                    .iter()
                    .map(|r| match r {
                        Rule::Group { .. } => format!("({})", r.describe()),
                        Rule::Condition(c) => c.describe(),
                    })
                    .collect();
                parts.join(&format!(" {} ", connector.label()))
            }
        }
    }
}

impl Tree {
    /// Whether a client with these facts is in the segment on `today`.
    pub fn matches(&self, f: &Facts, today: NaiveDate) -> bool {
        match self {
            Tree::All(ts) => ts.iter().all(|t| t.matches(f, today)),
            Tree::Any(ts) => ts.iter().any(|t| t.matches(f, today)),
            Tree::Test(t) => t.matches(f, today),
        }
    }
}

impl Test {
    pub fn matches(&self, f: &Facts, today: NaiveDate) -> bool {
        let same = |is: bool, hit: bool| hit == is;
        match self {
            Test::DaysOverdue(s) => s.contains(days_overdue(f.oldest_unpaid_due_date, today)),
            Test::OverdueCents(s) => s.contains(f.overdue_cents),
            Test::UnpaidOrders(s) => s.contains(f.unpaid_orders),
            // Never contacted is longer ago than any number of days.
            Test::DaysSinceContact(s) => match f.last_contact_day {
                Some(d) => s.contains((today - d).num_days()),
                None => s.0.iter().any(|(_, hi)| hi.is_none()),
            },
            Test::Portfolio { is, value } => same(*is, f.portfolio == *value),
            Test::Product { is, value } => same(*is, f.products.contains(value)),
            Test::Kind { is, value } => same(*is, f.kind == Some(*value)),
            Test::Country { is, value } => same(*is, f.country == *value),
            Test::Advisor { is, user_id } => same(*is, f.advisor_id == Some(*user_id)),
            Test::Supervisor { is, user_id } => same(*is, f.supervisor_id == Some(*user_id)),
            Test::Alert { is, kind } => same(*is, f.alert_key.has(*kind)),
            Test::Contactability { is, value } => same(*is, f.alert_key.contactability() == *value),
            Test::Promise { is, state } => same(*is, f.promise == *state),
            Test::PendingInbound(yes) => same(*yes, f.pending_count > 0),
            Test::Channel { is, channel } => same(*is, f.channels.contains(channel)),
        }
    }
}

/// A saved segment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub id: i64,
    pub name: String,
    pub rule: Rule,
    /// The rule in one line.
    pub summary: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentInput {
    pub name: String,
    pub rule: Rule,
}

pub const MAX_NAME_CHARS: usize = 100;

/// A name for a segment, flow, event or campaign: required, at most 100 characters.
pub fn check_name(name: &str) -> Result<String, FieldError> {
    let n = name.trim();
    if n.is_empty() {
        Err(FieldError::new("name", "Escribe un nombre."))
    } else if n.chars().count() > MAX_NAME_CHARS {
        Err(FieldError::new(
            "name",
            format!("El nombre admite como máximo {MAX_NAME_CHARS} caracteres."),
        ))
    } else {
        Ok(n.to_string())
    }
}

impl SegmentInput {
    pub fn check(&self) -> Result<(String, Tree), Vec<FieldError>> {
        let name = check_name(&self.name);
        let tree = self.rule.check();
        match (name, tree) {
            (Ok(n), Ok(t)) => Ok((n, t)),
            (n, t) => {
                let mut errors: Vec<FieldError> = n.err().into_iter().collect();
                errors.extend(t.err().unwrap_or_default());
                Err(errors)
            }
        }
    }
}

/// The organisation's values a builder's lists offer, and the users.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentOptions {
    pub portfolios: Vec<String>,
    pub products: Vec<String>,
    pub countries: Vec<String>,
    /// (id, name)
    pub advisors: Vec<(i64, String)>,
    pub supervisors: Vec<(i64, String)>,
}

impl SegmentOptions {
    /// The choices of a variable: fixed ones, or the organisation's.
    pub fn choices(&self, v: Variable) -> Vec<(String, String)> {
        let own = |list: &[String]| list.iter().map(|s| (s.clone(), s.clone())).collect();
        let users = |list: &[(i64, String)]| {
            list.iter()
                .map(|(id, n)| (id.to_string(), n.clone()))
                .collect()
        };
        match v {
            Variable::Portfolio => own(&self.portfolios),
            Variable::Product => own(&self.products),
            Variable::Country => own(&self.countries),
            Variable::Advisor => users(&self.advisors),
            Variable::Supervisor => users(&self.supervisors),
            _ => v.choices(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(variable: Variable, op: Op, value: &str) -> Rule {
        Rule::Condition(Condition {
            variable,
            op,
            value: value.into(),
        })
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn spans_cover_each_operator() {
        let s = |op| Span::of(op, 5);
        assert!(s(Op::Eq).contains(5) && !s(Op::Eq).contains(4));
        assert!(s(Op::Ne).contains(4) && s(Op::Ne).contains(6) && !s(Op::Ne).contains(5));
        assert!(s(Op::Gt).contains(6) && !s(Op::Gt).contains(5));
        assert!(s(Op::Ge).contains(5) && !s(Op::Ge).contains(4));
        assert!(s(Op::Lt).contains(4) && !s(Op::Lt).contains(5));
        assert!(s(Op::Le).contains(5) && !s(Op::Le).contains(6));
    }

    #[test]
    fn values_are_checked_by_the_variable_type() {
        let err = |r: Rule| r.check().unwrap_err()[0].message.clone();
        assert!(
            err(cond(Variable::DaysOverdue, Op::Gt, "treinta")).contains("no es un número entero")
        );
        assert!(err(cond(Variable::DaysOverdue, Op::Gt, "")).contains("Escribe los días"));
        assert!(err(cond(Variable::DaysOverdue, Op::Gt, "99999999")).contains("entre 0 y 36500"));
        assert!(err(cond(Variable::DaysOverdue, Op::Gt, "-3")).contains("entre 0"));
        assert!(err(cond(Variable::OverdueAmount, Op::Ge, "mil"))
            .contains("El monto tiene un carácter no válido"));
        assert!(err(cond(Variable::Portfolio, Op::Gt, "Mora")).contains("no admite «mayor que»"));
        assert!(
            err(cond(Variable::NonPaymentAlert, Op::Eq, "refinancing")).contains("Elige la alerta")
        );
        assert!(err(cond(Variable::PendingInbound, Op::Ne, "si")).contains("no admite"));
        assert!(err(cond(Variable::PendingInbound, Op::Eq, "quizá")).contains("Sí o No"));
        assert!(err(cond(Variable::Advisor, Op::Eq, "ana")).contains("Elige el asesor"));
        assert!(err(cond(Variable::ChannelAvailable, Op::Eq, "note")).contains("Elige el canal"));
        assert!(err(cond(Variable::Contactability, Op::Eq, "x")).contains("contactabilidad"));
        let amount = cond(Variable::OverdueAmount, Op::Ge, "1.500,50")
            .check()
            .unwrap();
        assert_eq!(
            amount,
            Tree::Test(Test::OverdueCents(Span::of(Op::Ge, 150_050)))
        );
    }

    #[test]
    fn errors_number_the_conditions_and_refuse_empty_inner_groups() {
        let rule = Rule::Group {
            connector: Connector::And,
            rules: vec![
                cond(Variable::DaysOverdue, Op::Gt, "30"),
                Rule::Group {
                    connector: Connector::Or,
                    rules: vec![
                        cond(Variable::Country, Op::Eq, "CO"),
                        cond(Variable::UnpaidOrders, Op::Ge, "x"),
                    ],
                },
                Rule::Group {
                    connector: Connector::Or,
                    rules: vec![],
                },
            ],
        };
        let errors = rule.check().unwrap_err();
        assert_eq!(errors.len(), 2);
        assert!(errors[0]
            .message
            .starts_with("Condición 3 (Órdenes impagas)"));
        assert!(errors[1].message.contains("grupo sin condiciones"));
        assert!(
            Rule::default().check().is_ok(),
            "an empty top group is every client"
        );
        let mut deep = cond(Variable::DaysOverdue, Op::Gt, "1");
        for _ in 0..=MAX_DEPTH {
            deep = Rule::Group {
                connector: Connector::And,
                rules: vec![deep],
            };
        }
        assert!(deep.check().unwrap_err()[0].message.contains("anidar"));
    }

    #[test]
    fn the_issue_example_evaluates_in_memory() {
        // días de atraso > 30 Y (Alerta No puede pagar O Contactabilidad = Con problemas)
        let rule = Rule::Group {
            connector: Connector::And,
            rules: vec![
                cond(Variable::DaysOverdue, Op::Gt, "30"),
                Rule::Group {
                    connector: Connector::Or,
                    rules: vec![
                        cond(Variable::NonPaymentAlert, Op::Eq, "cant_pay"),
                        cond(Variable::Contactability, Op::Eq, "with_problems"),
                    ],
                },
            ],
        };
        let tree = rule.check().unwrap();
        let today = day("2026-11-24");
        let mut f = Facts {
            oldest_unpaid_due_date: Some(day("2026-10-01")),
            alert_key: AlertKey::new(AlertKind::CantPay.bit(), Contactability::Contactable),
            ..Facts::default()
        };
        assert!(tree.matches(&f, today));
        f.alert_key = AlertKey::new(0, Contactability::WithProblems);
        assert!(tree.matches(&f, today));
        f.alert_key = AlertKey::new(AlertKind::WontPay.bit(), Contactability::Contactable);
        assert!(!tree.matches(&f, today));
        f.alert_key = AlertKey::new(AlertKind::CantPay.bit(), Contactability::Contactable);
        f.oldest_unpaid_due_date = Some(day("2026-10-25"));
        assert!(!tree.matches(&f, today), "30 days is not more than 30");
        assert_eq!(
            rule.describe(),
            "Días de atraso mayor que 30 Y (Alerta: Problema de no pago es No puede pagar O Contactabilidad es Con problemas de contactabilidad)"
        );
    }

    #[test]
    fn not_yet_due_counts_as_zero_days_and_never_contacted_as_longest() {
        let today = day("2026-11-24");
        let zero = cond(Variable::DaysOverdue, Op::Eq, "0").check().unwrap();
        let future = Facts {
            oldest_unpaid_due_date: Some(day("2026-12-10")),
            ..Facts::default()
        };
        assert!(zero.matches(&future, today));
        assert!(zero.matches(&Facts::default(), today));
        let long = cond(Variable::DaysSinceContact, Op::Gt, "10")
            .check()
            .unwrap();
        let short = cond(Variable::DaysSinceContact, Op::Lt, "10")
            .check()
            .unwrap();
        let never = Facts::default();
        assert!(long.matches(&never, today) && !short.matches(&never, today));
        let recent = Facts {
            last_contact_day: Some(day("2026-11-20")),
            ..Facts::default()
        };
        assert!(short.matches(&recent, today) && !long.matches(&recent, today));
    }

    #[test]
    fn rules_round_trip_as_json() {
        let rule = Rule::Group {
            connector: Connector::Or,
            rules: vec![cond(Variable::PromiseState, Op::Ne, NO_PROMISE)],
        };
        let json = serde_json::to_string(&rule).unwrap();
        assert_eq!(serde_json::from_str::<Rule>(&json).unwrap(), rule);
    }
}
