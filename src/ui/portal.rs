//! The payment portal ("Web de cobros"): the public page a "Paga aquí" link opens, in
//! Spanish, for the debtor. It shows the overdue debts and the organisation's payment
//! instructions, and takes a declared payment (with its receipt) or a promise.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::portal::{portal_open, portal_viewed_debt, portal_visit};
use crate::domain::error::AppError;
use crate::domain::money::format_money;
use crate::domain::portal::PortalPage;
use crate::ui::components::fmt_date;
use crate::ui::conversations::gestion::DeclareForm;

#[component]
pub fn PortalRoute() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.with(|p| p.get("token").unwrap_or_default());
    let page = Resource::new(token, portal_open);
    view! {
        <Title text="Web de cobros" />
        <main class="page narrow portal">
            <Suspense fallback=|| view! { <p class="loading">"Cargando…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(p) => view! { <Portal p token=token() /> }.into_any(),
                        Err(AppError::Invalid(errors)) => view! {
                            <h1>"Enlace no válido"</h1>
                            {errors.into_iter().map(|e| view! { <p class="notice error" role="alert">{e.message}</p> }).collect_view()}
                        }.into_any(),
                        Err(error) => view! {
                            <h1>"No pudimos abrir la página"</h1>
                            <p class="notice error" role="alert">{error.to_string()}</p>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn Portal(p: PortalPage, token: String) -> impl IntoView {
    let detail = RwSignal::new(false);
    let declaring = RwSignal::new(None::<bool>);
    let declared = RwSignal::new(None::<bool>);
    // The visit is recorded by the page running in a browser, never while the server
    // renders it: link previews and mail scanners fetch that, and are not the debtor.
    let opened = Action::new(move |token: &String| portal_visit(token.clone()));
    Effect::new({
        let token = token.clone();
        move |_| {
            opened.dispatch(token.clone());
        }
    });
    let visit = Signal::derive(move || opened.value().get().and_then(Result::ok));
    let viewed = Action::new({
        let token = token.clone();
        move |visit: &i64| portal_viewed_debt(token.clone(), *visit)
    });
    let done = Callback::new(move |()| {
        declared.set(declaring.get_untracked());
        declaring.set(None);
    });
    let debts = p.debts.clone();
    view! {
        <h1>{format!("Hola, {}", p.client_name)}</h1>
        <section class="card" aria-label="Tu deuda">
            <p>"Deuda vencida: "<strong>{format_money(p.overdue_total_cents, &p.currency)}</strong></p>
            <p class="small">{format!("{} días de atraso", p.days_overdue)}</p>
            <button type="button" class="secondary" aria-expanded=move || detail.get().to_string()
                on:click=move |_| {
                    if let (false, Some(visit)) = (detail.get_untracked(), visit.get_untracked()) {
                        viewed.dispatch(visit);
                    }
                    detail.update(|d| *d = !*d);
                }>"Ver detalle"</button>
            <Show when=move || detail.get()>
                <table class="debts">
                    <caption class="visually-hidden">"Detalle de la deuda"</caption>
                    <thead><tr><th scope="col">"Orden"</th><th scope="col">"Vence"</th><th scope="col" class="num">"Por pagar"</th></tr></thead>
                    <tbody>
                        {debts.iter().map(|d| view! {
                            <tr>
                                <td>{d.number.clone()}</td>
                                <td>{fmt_date(d.due_date)}</td>
                                <td class="num">{format_money(d.outstanding_cents(), &d.currency)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </Show>
        </section>
        <section class="card" aria-label="Cómo pagar">
            <h2>"Cómo pagar"</h2>
            <p>{p.instructions.clone()}</p>
        </section>
        {move || declared.get().map(|payment| view! {
            <p class="notice ok" role="status">{if payment {
                "Recibimos tu pago. Tu asesor lo verificará y te confirmará."
            } else {
                "Registramos tu compromiso de pago. ¡Gracias!"
            }}</p>
        })}
        <div class="actions">
            <button type="button" aria-expanded=move || (declaring.get() == Some(true)).to_string()
                on:click=move |_| declaring.set(Some(true))>"Ya pagué"</button>
            <button type="button" class="secondary" aria-expanded=move || (declaring.get() == Some(false)).to_string()
                on:click=move |_| declaring.set(Some(false))>"Me comprometo a pagar"</button>
        </div>
        {move || opened.value().get().and_then(Result::err).map(|error| view! {
            <p class="notice error" role="alert">{error.to_string()}</p>
        })}
        {move || declaring.get().zip(visit.get()).map(|(payment, visit)| view! {
            <DeclareForm client_id=0 payment on_done=done portal=(token.clone(), visit) />
        })}
    }
}
