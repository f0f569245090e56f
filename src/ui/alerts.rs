//! Alert flags beside a debtor's name (seed 004): an icon per flag with its hover text.
//! Where the user may act on it, a click offers "Quitar alerta", which asks for a reason
//! in a confirmation dialog.

use leptos::prelude::*;

use crate::api::alerts::lift_alert;
use crate::domain::alerts::{
    AlertFilter, AlertKind, ContactProblem, Contactability, FilterChoice, LiftInput, ShownFlag,
    NON_PAYMENT_CHOICES, PAYMENT_PROBLEM_CHOICES,
};
use crate::ui::components::{FieldMessage, FormFeedback};

fn glyph(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::WontPay => "⊘",
        AlertKind::CantPay => "⚠",
        AlertKind::Restructuring => "↻",
        AlertKind::Refinancing => "⇄",
        AlertKind::Contactability => "☎",
    }
}

/// Flags to look at, inside a row that is itself a link.
#[component]
pub fn AlertIcons(flags: Vec<ShownFlag>) -> impl IntoView {
    view! {
        <span class="alerts">
            {flags.into_iter().map(|f| view! {
                <span class=format!("alert-flag {}", f.kind.colour()) role="img"
                    aria-label=f.hover.clone() title=f.hover>
                    <span aria-hidden="true">{glyph(f.kind)}</span>
                </span>
            }).collect_view()}
        </span>
    }
}

/// The orange mark on a failed phone or address.
#[component]
pub fn PointFlag(problem: Option<ContactProblem>) -> impl IntoView {
    problem.map(|p| {
        let hover = format!("{}: {}", AlertKind::Contactability.label(), p.label());
        view! {
            <span class="alert-flag orange" role="img" aria-label=hover.clone() title=hover>
                <span aria-hidden="true">{glyph(AlertKind::Contactability)}</span>
            </span>
        }
    })
}

/// Flags the user may lift. Clicking one shows "Quitar alerta"; that opens the
/// confirmation, and `lifted` runs once the server has lifted it.
#[component]
pub fn AlertFlags(client_id: i64, flags: Vec<ShownFlag>, lifted: Callback<()>) -> impl IntoView {
    let open = RwSignal::new(None::<usize>);
    let confirming = RwSignal::new(None::<ShownFlag>);
    let items = flags
        .into_iter()
        .enumerate()
        .map(|(i, flag)| {
            let hover = flag.hover.clone();
            let offered = StoredValue::new(flag.clone());
            view! {
                <span class="alert-anchor">
                    <button type="button" class=format!("alert-flag {}", flag.kind.colour())
                        aria-label=hover.clone() title=hover.clone()
                        aria-expanded=move || (open.get() == Some(i)).to_string()
                        on:click=move |_| open.update(|o| *o = if *o == Some(i) { None } else { Some(i) })>
                        <span aria-hidden="true">{glyph(flag.kind)}</span>
                    </button>
                    <Show when=move || open.get() == Some(i)>
                        <span class="alert-pop" role="group" aria-label=offered.with_value(|f| f.hover.clone())>
                            <span class="alert-pop-text">{offered.with_value(|f| f.hover.clone())}</span>
                            <button type="button" class="small"
                                on:click=move |_| {
                                    open.set(None);
                                    confirming.set(Some(offered.get_value()));
                                }>"Quitar alerta"</button>
                        </span>
                    </Show>
                </span>
            }
        })
        .collect_view();
    let close = Callback::new(move |()| confirming.set(None));
    view! {
        <span class="alerts">{items}</span>
        {move || confirming.get().map(|flag| view! { <LiftDialog client_id flag close lifted /> })}
    }
}

#[component]
fn LiftDialog(
    client_id: i64,
    flag: ShownFlag,
    close: Callback<()>,
    lifted: Callback<()>,
) -> impl IntoView {
    let reason = RwSignal::new(String::new());
    let feedback = FormFeedback::default();
    let errors = feedback.errors;
    let invalid = Memo::new(move |_| errors.with(|e| e.iter().any(|x| x.field == "reason")));
    let (kind, point) = (flag.kind, flag.contact_point);
    let save = Action::new(move |reason: &String| {
        let input = LiftInput {
            client_id,
            kind,
            contact_point_id: point,
            reason: reason.clone(),
        };
        async move { lift_alert(input).await }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(())) => {
            close.run(());
            lifted.run(());
        }
        Some(Err(e)) => feedback.failure(e),
        None => {}
    });
    let field = NodeRef::<leptos::html::Textarea>::new();
    Effect::new(move |_| {
        if let Some(el) = field.get() {
            let _ = el.focus();
        }
    });
    view! {
        <div class="modal-backdrop">
            <section class="modal card" role="dialog" aria-modal="true" aria-labelledby="lift-title"
                on:keydown=move |ev| {
                    if ev.key() == "Escape" {
                        close.run(());
                    }
                }>
                <h3 id="lift-title">"Quitar alerta"</h3>
                <p>{format!("Vas a quitar «{}». Queda registrado quién la quitó y por qué.", flag.hover)}</p>
                <form novalidate on:submit=move |ev| {
                    ev.prevent_default();
                    feedback.clear();
                    save.dispatch(reason.get_untracked());
                }>
                    <div class="field">
                        <label for="reason">"Motivo *"</label>
                        <textarea id="reason" node_ref=field rows="3" aria-required="true"
                            aria-invalid=move || invalid.get().then_some("true")
                            aria-describedby=move || invalid.get().then_some("reason-error")
                            prop:value=move || reason.get()
                            on:input=move |ev| reason.set(event_target_value(&ev))></textarea>
                        <FieldMessage errors name="reason" />
                    </div>
                    {feedback.view()}
                    <div class="actions">
                        <button type="submit" disabled=move || save.pending().get()>"Confirmar"</button>
                        <button type="button" class="secondary" on:click=move |_| close.run(())>"Cancelar"</button>
                    </div>
                </form>
            </section>
        </div>
    }
}

/// The three alert filters of seed 004, as selects; each change is handed to the page.
#[component]
pub fn AlertFilterFields<A, B, C>(
    id_prefix: &'static str,
    filter: Signal<AlertFilter>,
    on_non_payment: A,
    on_payment_problem: B,
    on_contactability: C,
) -> impl IntoView
where
    A: Fn(leptos::ev::Event) + 'static,
    B: Fn(leptos::ev::Event) + 'static,
    C: Fn(leptos::ev::Event) + 'static,
{
    let group = |choices: &'static [FilterChoice], current: Signal<u8>| {
        choices
            .iter()
            .map(move |c| {
                view! { <option value=c.value selected=move || current.get() == c.bits>{c.label}</option> }
            })
            .collect_view()
    };
    let non_payment = Signal::derive(move || filter.get().non_payment);
    let payment_problem = Signal::derive(move || filter.get().payment_problem);
    view! {
        <div class="field">
            <label for=format!("{id_prefix}-no-pago")>"Alerta: Problema de no pago"</label>
            <select id=format!("{id_prefix}-no-pago") on:change=on_non_payment>
                <option value="" selected=move || non_payment.get() == 0>"Todos"</option>
                {group(&NON_PAYMENT_CHOICES, non_payment)}
            </select>
        </div>
        <div class="field">
            <label for=format!("{id_prefix}-problema-pago")>"Problemas de pago"</label>
            <select id=format!("{id_prefix}-problema-pago") on:change=on_payment_problem>
                <option value="" selected=move || payment_problem.get() == 0>"Todos"</option>
                {group(&PAYMENT_PROBLEM_CHOICES, payment_problem)}
            </select>
        </div>
        <div class="field">
            <label for=format!("{id_prefix}-contactabilidad")>"Contactabilidad"</label>
            <select id=format!("{id_prefix}-contactabilidad") on:change=on_contactability>
                <option value="" selected=move || filter.get().contactability.is_none()>"Todos"</option>
                {Contactability::ALL.iter().map(|c| {
                    let c = *c;
                    view! { <option value=c.as_str() selected=move || filter.get().contactability == Some(c)>{c.label()}</option> }
                }).collect_view()}
            </select>
        </div>
    }
}
