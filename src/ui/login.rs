use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::auth::Login;
use crate::domain::error::AppError;
use crate::ui::components::field_id;

#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next")).unwrap_or_else(|| "/".into());
    let login = ServerAction::<Login>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(target)) = login.value().get() {
            navigate(&target, Default::default());
        }
    });
    let error = move || login.value().get().and_then(Result::err);
    let field_message =
        move |name: &'static str| move || error().and_then(|e| e.field_message(name));
    let general = move || {
        error()
            .filter(|e| !matches!(e, AppError::Invalid(_)))
            .map(|e| e.to_string())
    };
    view! {
        <Title text="Ingresar · Recaudo" />
        <main class="login">
            <h1>"Recaudo"</h1>
            <p class="subtitle">"Ingresa con tu correo y contraseña."</p>
            <ActionForm action=login>
                <input type="hidden" name="next" value=next />
                <div class="field">
                    <label for="email">"Correo"</label>
                    <input id="email" name="email" type="email" autocomplete="username"
                        aria-invalid=move || field_message("email")().map(|_| "true")
                        aria-describedby=move || field_message("email")().map(|_| format!("{}-error", field_id("email"))) />
                    {move || field_message("email")().map(|m| view! { <p class="field-error" id="email-error">{m}</p> })}
                </div>
                <div class="field">
                    <label for="password">"Contraseña"</label>
                    <input id="password" name="password" type="password" autocomplete="current-password"
                        aria-invalid=move || field_message("password")().map(|_| "true")
                        aria-describedby=move || field_message("password")().map(|_| "password-error") />
                    {move || field_message("password")().map(|m| view! { <p class="field-error" id="password-error">{m}</p> })}
                </div>
                {move || general().map(|m| view! { <p class="notice error" role="alert">{m}</p> })}
                <button type="submit" disabled=move || login.pending().get()>"Ingresar"</button>
            </ActionForm>
        </main>
    }
}
