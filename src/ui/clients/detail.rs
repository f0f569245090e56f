use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::clients::get_client;
use crate::domain::client::{ClientDetail, Party};
use crate::domain::contact::ContactKind;
use crate::domain::error::AppError;
use crate::domain::geo;
use crate::domain::money::format_money;
use crate::ui::alerts::{AlertFlags, PointFlag};
use crate::ui::clients::AssignControl;
use crate::ui::components::{fmt_date, fmt_opt_date, id_param, ErrorNotice};
use crate::ui::use_session;

/// The client named by the route's `:id`.
pub fn client_from_route() -> (Memo<Option<i64>>, Resource<Result<ClientDetail, AppError>>) {
    let id = id_param();
    let client = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => get_client(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    (id, client)
}

#[component]
pub fn ClientDetailPage() -> impl IntoView {
    let viewer = use_session().viewer;
    let may_reassign = viewer.may_reassign();
    let (id, client) = client_from_route();
    // The server renders this page before the client is read, the browser hydrates it
    // with the client already known: the control appears once hydrated, so both agree.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <Transition fallback=|| view! { <p class="loading">"Cargando cliente…"</p> }>
            {move || Suspend::new(async move {
                match client.await {
                    Ok(c) => view! { <Detail client=c lifted=Callback::new(move |()| client.refetch()) /> }.into_any(),
                    Err(error) => view! {
                        <Title text="Cliente · Recaudo" />
                        <h1>"Cliente"</h1>
                        <ErrorNotice error />
                        <p><a href="/clientes">"Volver a Clientes"</a></p>
                    }.into_any(),
                }
            })}
        </Transition>
        // Outside the transition: reloading the client after a reassignment keeps the
        // control and its confirmation on screen.
        <Show when=move || may_reassign && hydrated.get() && client.get().is_some_and(|r| r.is_ok())>
            <section class="card" aria-label="Reasignar cliente">
                <AssignControl
                    selected=Signal::derive(move || id.get().into_iter().collect())
                    button_label="Reasignar"
                    done=Callback::new(move |_| client.refetch())
                />
            </section>
        </Show>
    }
}

#[component]
fn Detail(client: ClientDetail, lifted: Callback<()>) -> impl IntoView {
    let id = client.id;
    let flags = client.flags();
    let country =
        geo::country(&client.country).map_or(client.country.clone(), |c| c.name.to_string());
    let s = client.summary;
    let currency = client.currency.clone();
    view! {
        <Title text=format!("{} · Recaudo", client.display_name) />
        <div class="page-head">
            <h1>
                {client.display_name.clone()}
                <AlertFlags client_id=id flags lifted />
            </h1>
            <div class="actions">
                <a class="button" href=format!("/clientes/{id}/editar")>"Editar"</a>
                <a class="button secondary" href="/clientes">"Volver"</a>
            </div>
        </div>
        <section class="summary" aria-label="Resumen de deuda">
            <div><span class="label">"Deuda vencida"</span><strong>{format_money(s.overdue_total_cents, &currency)}</strong></div>
            <div><span class="label">"Días de atraso"</span><strong>{client.days_overdue}</strong></div>
            <div><span class="label">"Vencimiento más antiguo"</span><strong>{fmt_opt_date(s.oldest_unpaid_due_date)}</strong></div>
            <div><span class="label">"Saldo total"</span><strong>{format_money(s.balance_cents, &currency)}</strong></div>
            <div><span class="label">"Órdenes impagas"</span><strong>{s.unpaid_orders}</strong></div>
        </section>
        <section class="card">
            <h2>"Datos del cliente"</h2>
            <dl class="facts">
                <dt>"Tipo"</dt><dd>{client.kind.label()}</dd>
                <dt>"Documento"</dt><dd>{client.document_number.clone()}</dd>
                <dt>"Segmento"</dt><dd>{if client.segment.is_empty() { "—".to_string() } else { client.segment.clone() }}</dd>
                <dt>"País"</dt><dd>{country}</dd>
                <dt>"Zona horaria"</dt><dd>{client.time_zone.clone()}</dd>
                <dt>"Asesor"</dt><dd>{client.advisor_name.clone().unwrap_or_else(|| "Sin asignar".into())}</dd>
                <dt>"Supervisor"</dt><dd>{client.supervisor_name.clone().unwrap_or_else(|| "—".into())}</dd>
                <dt>"Contactabilidad"</dt><dd>{client.alerts.contactability().label()}</dd>
            </dl>
        </section>
        <section class="card">
            <h2>"Contactos"</h2>
            <div class="parties">
                {client.parties.into_iter().map(|p| view! { <PartyCard party=p /> }).collect_view()}
            </div>
        </section>
        <section class="card">
            <h2>"Deudas"</h2>
            <table class="debts">
                <thead>
                    <tr>
                        <th scope="col">"Orden"</th>
                        <th scope="col">"Producto"</th>
                        <th scope="col">"Emisión"</th>
                        <th scope="col">"Vencimiento"</th>
                        <th scope="col" class="num">"Monto"</th>
                        <th scope="col" class="num">"Pagado"</th>
                        <th scope="col" class="num">"Saldo"</th>
                    </tr>
                </thead>
                <tbody>
                    {client.debts.into_iter().map(|d| view! {
                        <tr>
                            <td>{d.number.clone()}</td>
                            <td>{d.product.clone()}</td>
                            <td>{fmt_date(d.issue_date)}</td>
                            <td>{fmt_date(d.due_date)}</td>
                            <td class="num">{format_money(d.amount_cents, &d.currency)}</td>
                            <td class="num">{format_money(d.paid_cents, &d.currency)}</td>
                            <td class="num">{format_money(d.outstanding_cents(), &d.currency)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn PartyCard(party: Party) -> impl IntoView {
    let title = party.title();
    let relationship = party.relationship.clone();
    view! {
        <article class="party">
            <h3>{title}</h3>
            <p class="party-name">
                {party.name.clone()}
                {(!relationship.is_empty()).then(|| view! { <span class="muted">" · "{relationship.clone()}</span> })}
            </p>
            <ul class="contacts">
                {party.contacts.into_iter().map(|c| {
                    let href = match c.kind {
                        ContactKind::Email => format!("mailto:{}", c.value),
                        ContactKind::Phone => format!("tel:{}", c.value),
                        ContactKind::WhatsApp => format!("https://wa.me/{}", c.value.trim_start_matches('+')),
                    };
                    let withheld = (!c.withheld.is_empty()).then(|| {
                        let names: Vec<&str> = c.withheld.iter().map(|ch| ch.label()).collect();
                        view! { <span class="muted">" · no autoriza: "{names.join(", ")}</span> }
                    });
                    view! { <li><span class="label">{c.kind.label()}</span>" "<a href=href rel="external">{c.value.clone()}</a>{withheld}<PointFlag problem=c.problem /></li> }
                }).collect_view()}
            </ul>
        </article>
    }
}
