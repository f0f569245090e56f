//! "Pagos a verificar": the payments debtors declared, to approve or reject.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::calls::{payments_to_verify, review_payment};
use crate::domain::calls::{QueuedPayment, ReviewInput};
use crate::domain::money::format_money;
use crate::ui::components::{fmt_date, fmt_datetime, ErrorNotice, FieldMessage, FormFeedback};

#[component]
pub fn PaymentsPage() -> impl IntoView {
    let version = RwSignal::new(0u64);
    let queue = Resource::new(move || version.get(), |_| payments_to_verify());
    let changed = Callback::new(move |()| version.update(|v| *v += 1));
    view! {
        <Title text="Pagos a verificar · Recaudo" />
        <h1>"Pagos a verificar"</h1>
        <p class="small">"Los pagos que los clientes declararon, del más antiguo al más reciente. Aprobarlo aplica el monto a las deudas más antiguas del cliente; rechazarlo pide un motivo, que queda en la conversación."</p>
        <Transition fallback=|| view! { <p class="loading">"Cargando pagos…"</p> }>
            {move || Suspend::new(async move {
                match queue.await {
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    Ok(rows) if rows.is_empty() => view! { <p class="empty">"No hay pagos por verificar."</p> }.into_any(),
                    Ok(rows) => view! {
                        <table class="payments">
                            <thead><tr>
                                <th scope="col">"Cliente"</th>
                                <th scope="col">"Asesor"</th>
                                <th scope="col">"Fecha del pago"</th>
                                <th scope="col" class="num">"Monto"</th>
                                <th scope="col">"Medio y referencia"</th>
                                <th scope="col">"Registrado"</th>
                                <th scope="col">"Comprobante"</th>
                                <th scope="col">"Revisión"</th>
                            </tr></thead>
                            <tbody>
                                {rows.into_iter().map(|q| view! { <PaymentRow q changed /> }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn PaymentRow(q: QueuedPayment, changed: Callback<()>) -> impl IntoView {
    let p = q.payment;
    let id = p.id;
    let rejecting = RwSignal::new(false);
    let reason = RwSignal::new(String::new());
    let feedback = FormFeedback::default();
    let errors = feedback.errors;
    let review = Action::new(move |input: &ReviewInput| review_payment(input.clone()));
    Effect::new(move |_| match review.value().get() {
        Some(Ok(())) => changed.run(()),
        Some(Err(e)) => feedback.failure(e),
        None => {}
    });
    let who = q.client_name.clone();
    let amount = format_money(p.amount_cents, &p.currency);
    let method = [p.method.clone(), p.reference.clone()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · ");
    let reason_id = format!("reject-reason-{id}");
    view! {
        <tr>
            <td><a href=format!("/conversaciones/{}", p.client_id)>{q.client_name.clone()}</a>
                <span class="small">{format!(" · {}", q.document_number)}</span></td>
            <td>{q.advisor_name.clone().unwrap_or_else(|| "Sin asignar".into())}</td>
            <td>{fmt_date(p.paid_on)}</td>
            <td class="num">{format_money(p.amount_cents, &p.currency)}</td>
            <td>{if method.is_empty() { "—".to_string() } else { method }}</td>
            <td>{format!("{} · {}", p.declared_by_name, fmt_datetime(p.at))}
                {(!p.note.is_empty()).then(|| view! { <p class="small">{p.note.clone()}</p> })}</td>
            <td>{p.files.iter().map(|f| view! {
                <a href=format!("/api/management-files/{}", f.id) rel="external">{f.file_name.clone()}</a>
            }).collect_view()}</td>
            <td>
                <div class="actions">
                    {if q.approved_by_another {
                        view! { <p class="small">"Lo registraste tú: lo aprueba otra persona (tu supervisor o un administrador)."</p> }.into_any()
                    } else {
                        view! {
                            <button type="button" aria-label=format!("Aprobar el pago de {who} por {amount}") disabled=move || review.pending().get()
                                on:click=move |_| {
                                    feedback.clear();
                                    review.dispatch(ReviewInput { payment_id: id, approve: true, reason: String::new() });
                                }>"Aprobar"</button>
                        }.into_any()
                    }}
                    <button type="button" class="secondary" aria-expanded=move || rejecting.get().to_string()
                        on:click=move |_| rejecting.update(|r| *r = !*r)>"Rechazar"</button>
                </div>
                <Show when=move || rejecting.get()>
                    <form class="reject" novalidate on:submit=move |ev| {
                        ev.prevent_default();
                        feedback.clear();
                        review.dispatch(ReviewInput { payment_id: id, approve: false, reason: reason.get_untracked() });
                    }>
                        <label for=reason_id.clone()>"Motivo del rechazo"</label>
                        <input id=reason_id.clone() type="text" prop:value=move || reason.get()
                            on:input=move |ev| reason.set(event_target_value(&ev)) />
                        <FieldMessage errors name="reason" />
                        <button type="submit" class="secondary">"Confirmar rechazo"</button>
                    </form>
                </Show>
                {feedback.view()}
            </td>
        </tr>
    }
}
