use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use crate::api::users::{get_user, list_users, login_alerts, save_user};
use crate::domain::error::AppError;
use crate::domain::user::{Role, UserInput, MIN_PASSWORD_CHARS};
use crate::ui::components::{
    id_param, message_for, ErrorNotice, FormFeedback, SelectField, TextField,
};

#[component]
pub fn UsersPage() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users());
    let alerts = Resource::new(|| (), |_| login_alerts());
    view! {
        <Title text="Usuarios · Recaudo" />
        <div class="page-head">
            <h1>"Usuarios"</h1>
            <div class="actions"><a class="button" href="/usuarios/nuevo">"Nuevo usuario"</a></div>
        </div>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match alerts.await {
                    Ok(list) if !list.is_empty() => view! {
                        <section class="notice error" role="alert" aria-labelledby="login-alerts">
                            <h2 id="login-alerts">"Intentos de ingreso fallidos"</h2>
                            <ul>
                                {list.iter().map(|a| view! { <li>{a.sentence()}</li> }).collect_view()}
                            </ul>
                        </section>
                    }.into_any(),
                    // A refusal is already shown by the list below.
                    _ => ().into_any(),
                }
            })}
        </Transition>
        <Transition fallback=|| view! { <p class="loading">"Cargando usuarios…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    Ok(list) => view! {
                        <table class="users">
                            <caption class="visually-hidden">"Usuarios"</caption>
                            <thead>
                                <tr>
                                    <th scope="col">"Nombre"</th>
                                    <th scope="col">"Correo"</th>
                                    <th scope="col">"Rol"</th>
                                    <th scope="col">"Supervisor"</th>
                                    <th scope="col">"Filtro"</th>
                                    <th scope="col">"Estado"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {list.into_iter().map(|u| view! {
                                    <tr>
                                        <td><a href=format!("/usuarios/{}", u.id)>{u.name.clone()}</a></td>
                                        <td>{u.email.clone()}</td>
                                        <td>{u.role.label()}</td>
                                        <td>{u.supervisor_name.clone().unwrap_or_else(|| "—".into())}</td>
                                        <td>{if u.filter_unlocked { "Desbloqueado" } else { "Bloqueado" }}</td>
                                        <td>{if u.active { "Activo" } else { "Inactivo" }}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn NewUserPage() -> impl IntoView {
    let initial = UserInput {
        role: Role::Advisor.as_str().into(),
        active: true,
        ..Default::default()
    };
    view! {
        <Title text="Nuevo usuario · Recaudo" />
        <h1>"Nuevo usuario"</h1>
        <UserForm id=None initial />
    }
}

#[component]
pub fn EditUserPage() -> impl IntoView {
    let id = id_param();
    let user = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => get_user(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Title text="Editar usuario · Recaudo" />
        <Transition fallback=|| view! { <p class="loading">"Cargando usuario…"</p> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(u) => {
                        let initial = u.to_input();
                        view! { <h1>"Editar: "{u.name.clone()}</h1><UserForm id=Some(u.id) initial /> }.into_any()
                    }
                    Err(error) => view! { <h1>"Editar usuario"</h1><ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn UserForm(id: Option<i64>, initial: UserInput) -> impl IntoView {
    let input = RwSignal::new(initial);
    let feedback = FormFeedback::default();
    let errors = feedback.errors;
    let users = Resource::new(|| (), |_| list_users());
    let save = Action::new(move |(id, input): &(Option<i64>, UserInput)| {
        let (id, input) = (*id, input.clone());
        async move { save_user(id, input).await }
    });
    let navigate = use_navigate();
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => navigate("/usuarios", Default::default()),
        Some(Err(error)) => feedback.failure(error),
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let current = input.get_untracked();
        match current.validate(id.is_none()) {
            Ok(_) => {
                feedback.clear();
                save.dispatch((id, current));
            }
            Err(list) => feedback.fields(list),
        }
    };
    let text = move |get: fn(&UserInput) -> &String, set: fn(&mut UserInput, String)| {
        (
            Signal::derive(move || input.with(|u| get(u).clone())),
            Callback::new(move |v| input.update(|u| set(u, v))),
        )
    };
    let (name, set_name) = text(|u| &u.name, |u, v| u.name = v);
    let (email, set_email) = text(|u| &u.email, |u, v| u.email = v);
    let (phone, set_phone) = text(|u| &u.phone, |u, v| u.phone = v);
    let (password, set_password) = text(|u| &u.password, |u, v| u.password = v);
    let (role, _) = text(|u| &u.role, |u, v| u.role = v);
    let set_role = Callback::new(move |v: String| {
        input.update(|u| {
            if v != Role::Advisor.as_str() {
                u.supervisor_id = None;
            }
            u.role = v;
        })
    });
    let roles = Signal::derive(|| {
        Role::ALL
            .iter()
            .map(|r| (r.as_str().to_string(), r.label().to_string()))
            .collect::<Vec<_>>()
    });
    let is_advisor = Memo::new(move |_| input.with(|u| u.role == Role::Advisor.as_str()));
    let supervisor = Signal::derive(move || {
        input.with(|u| u.supervisor_id.map(|s| s.to_string()).unwrap_or_default())
    });
    let set_supervisor =
        Callback::new(move |v: String| input.update(|u| u.supervisor_id = v.parse().ok()));
    let password_label = if id.is_some() {
        "Nueva contraseña (vacía para mantenerla)".to_string()
    } else {
        format!("Contraseña (mínimo {MIN_PASSWORD_CHARS} caracteres)")
    };

    view! {
        <form class="user-form card" on:submit=on_submit novalidate>
            <div class="grid">
                <TextField label="Nombre" name="name" value=name on_input=set_name errors required=true />
                <TextField label="Correo" name="email" value=email on_input=set_email errors input_type="email" required=true />
                <TextField label="Teléfono para llamadas (+57…)" name="phone" value=phone on_input=set_phone errors input_type="tel" />
                <SelectField label="Rol" name="role" value=role on_change=set_role errors options=roles />
                <Show when=move || is_advisor.get()>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            let mut options = vec![(String::new(), "Sin supervisor".to_string())];
                            options.extend(users.await.unwrap_or_default().into_iter()
                                .filter(|u| u.role == Role::Supervisor && u.active && Some(u.id) != id)
                                .map(|u| (u.id.to_string(), u.name)));
                            view! { <SelectField label="Supervisor" name="supervisor_id" value=supervisor on_change=set_supervisor errors options=Signal::derive(move || options.clone()) /> }
                        })}
                    </Suspense>
                </Show>
                <TextField label=password_label name="password" value=password on_input=set_password errors input_type="password" autocomplete="new-password" />
            </div>
            <div class="checks">
                <label class="inline">
                    <input type="checkbox" prop:checked=move || input.with(|u| u.filter_unlocked)
                        on:change=move |ev| input.update(|u| u.filter_unlocked = event_target_checked(&ev)) />
                    "Filtro activo por usuario: puede cambiar a «Todos los clientes»"
                </label>
                <label class="inline">
                    <input type="checkbox" prop:checked=move || input.with(|u| u.active)
                        aria-invalid=move || errors.with(|e| message_for(e, "active").map(|_| "true"))
                        aria-describedby=move || errors.with(|e| message_for(e, "active").map(|_| "active-error"))
                        on:change=move |ev| input.update(|u| u.active = event_target_checked(&ev)) />
                    "Activo"
                </label>
                <crate::ui::components::FieldMessage errors name="active" />
            </div>
            {feedback.view()}
            <div class="form-actions">
                <button type="submit" disabled=move || save.pending().get()>"Guardar usuario"</button>
                <a class="button secondary" href="/usuarios">"Cancelar"</a>
            </div>
        </form>
    }
}
