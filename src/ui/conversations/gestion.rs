//! Calls in the conversation: the phones to dial, the Gestión form (call outcomes, with
//! one-key shortcuts), the callback calendar, registered outcomes in the timeline, and
//! the debt panel's promise and payment forms.

use super::recent::RecentQuestion;
use crate::ui::alerts::PointFlag;
use chrono::{Datelike, Duration, NaiveDate};
use leptos::prelude::*;

use crate::api::calls::{calls_calendar, declare, register_outcome};
use crate::api::portal::portal_declare;
use crate::domain::calls::{
    CallCalendar, DeclareInput, Gestion, OutcomeEntry, PaymentEntry, Phone, PromiseEntry,
};
use crate::domain::conversation::initials;
use crate::domain::error::{AppError, FieldError};
use crate::domain::message::AttachmentMeta;
use crate::domain::money::format_money;
use crate::domain::outcome::{
    lookup, offered, Effect as Does, Field, Outcome, OutcomeInput, Situation,
};
use crate::ui::components::{
    fmt_date, fmt_datetime, read_attachments, FieldMessage, FormFeedback, SelectField, TextField,
};

/// The codes of "Solicitud de información".
const INFORMATION_CODES: [&str; 5] = [
    "Estado de cuenta",
    "Certificado de deuda",
    "Paz y salvo",
    "Medios de pago",
    "Otro",
];

/// The party's phones. With click-to-call configured, "Llamar" asks the provider to
/// ring the advisor's phone and then the client's; otherwise it is the device's own
/// `tel:` link. Either way Gestión opens for the outcome.
#[component]
pub fn Phones(
    phones: Vec<Phone>,
    on_dial: Callback<i64>,
    #[prop(optional)] click_to_call: bool,
) -> impl IntoView {
    let empty = phones.is_empty();
    let call = Action::new(move |id: &i64| crate::api::calls::click_to_call(*id));
    view! {
        <section class="phones" aria-label="Teléfonos">
            <h3>"Teléfonos"</h3>
            <Show when=move || empty>
                <p class="empty">"Sin teléfonos registrados."</p>
            </Show>
            <ul>
                {phones.into_iter().map(|p| {
                    let id = p.contact_point_id;
                    view! {
                        <li class:failed=p.problem.is_some()>
                            {if click_to_call {
                                view! {
                                    <button type="button" class="link" disabled=move || call.pending().get()
                                        on:click=move |_| { call.dispatch(id); on_dial.run(id); }>
                                        {format!("Llamar a {}", p.value)}</button>
                                }.into_any()
                            } else {
                                view! { <a href=p.tel_href() rel="external" on:click=move |_| on_dial.run(id)>{format!("Llamar a {}", p.value)}</a> }.into_any()
                            }}
                            <PointFlag problem=p.problem />
                            <span class="small">{format!(" · {} ({})", p.party_name, p.kind.label())}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
            {move || call.value().get().map(|r| match r {
                Ok(m) => view! { <p class="notice ok" role="status">{m}</p> }.into_any(),
                Err(AppError::Invalid(f)) => view! {
                    <p class="notice error" role="alert">{f.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" ")}</p>
                }.into_any(),
                Err(error) => view! { <crate::ui::components::ErrorNotice error /> }.into_any(),
            })}
        </section>
    }
}

fn spanish_month(m: u32) -> &'static str {
    [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ][(m as usize).saturating_sub(1) % 12]
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("every month has a first day")
}

fn add_months(first: NaiveDate, delta: i32) -> NaiveDate {
    let months = first.year() * 12 + first.month0() as i32 + delta;
    NaiveDate::from_ymd_opt(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1)
        .unwrap_or(first)
}

/// A month grid where days before today and days closed to calls are greyed out and
/// cannot be chosen; the server refuses them too.
#[component]
fn CallbackCalendar(
    value: Signal<String>,
    on_pick: Callback<String>,
    calendar: CallCalendar,
    today: NaiveDate,
    errors: RwSignal<Vec<FieldError>>,
) -> impl IntoView {
    let month = RwSignal::new(first_of_month(today));
    let calendar = StoredValue::new(calendar);
    let days = move || {
        let first = month.get();
        let next = add_months(first, 1);
        let blanks = first.weekday().num_days_from_monday() as usize;
        let mut cells: Vec<Option<NaiveDate>> = vec![None; blanks];
        let mut d = first;
        while d < next {
            cells.push(Some(d));
            d += Duration::days(1);
        }
        cells
    };
    view! {
        <div class="field">
            <span class="label" id="date-label">"Fecha para volver a llamar *"</span>
            <div class="calendar" role="group" aria-labelledby="date-label">
                <div class="calendar-head">
                    <button type="button" class="secondary small" aria-label="Mes anterior"
                        disabled=move || month.get() <= first_of_month(today)
                        on:click=move |_| month.update(|m| *m = add_months(*m, -1))>"‹"</button>
                    <span aria-live="polite">{move || {
                        let m = month.get();
                        format!("{} de {}", spanish_month(m.month()), m.year())
                    }}</span>
                    <button type="button" class="secondary small" aria-label="Mes siguiente"
                        on:click=move |_| month.update(|m| *m = add_months(*m, 1))>"›"</button>
                </div>
                <div class="calendar-grid">
                    {["Lu", "Ma", "Mi", "Ju", "Vi", "Sá", "Do"].into_iter().map(|w| view! { <span class="weekday" aria-hidden="true">{w}</span> }).collect_view()}
                    {move || days().into_iter().map(|cell| match cell {
                        None => view! { <span></span> }.into_any(),
                        Some(d) => {
                            let why = if d < today {
                                Some("ya pasó".to_string())
                            } else {
                                calendar.with_value(|c| c.restriction(d))
                            };
                            let iso = d.to_string();
                            let label = format!(
                                "{} de {} de {}{}",
                                d.day(),
                                spanish_month(d.month()),
                                d.year(),
                                why.as_ref().map(|w| format!(" (no disponible: {w})")).unwrap_or_default()
                            );
                            let chosen = {
                                let iso = iso.clone();
                                move || value.get() == iso
                            };
                            view! {
                                <button type="button" class="day" data-date=iso.clone()
                                    disabled=why.is_some() title=why.clone() aria-label=label
                                    aria-pressed=move || chosen().to_string()
                                    on:click=move |_| on_pick.run(iso.clone())>{d.day()}</button>
                            }.into_any()
                        }
                    }).collect_view()}
                </div>
            </div>
            <p class="small">{move || {
                let v = value.get();
                match NaiveDate::parse_from_str(&v, "%Y-%m-%d") {
                    Ok(d) => format!("Elegido: {}", fmt_date(d)),
                    Err(_) => "Elige un día del calendario.".to_string(),
                }
            }}</p>
            <FieldMessage errors name="date" />
        </div>
    }
}

/// Whether a key press is typing into a text field (shortcuts then do nothing).
#[cfg(feature = "hydrate")]
fn typing(ev: &web_sys::KeyboardEvent) -> bool {
    use wasm_bindgen::JsCast;
    ev.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| match el.tag_name().as_str() {
            "TEXTAREA" | "SELECT" => true,
            "INPUT" => !matches!(
                el.get_attribute("type").as_deref(),
                Some("radio" | "checkbox" | "button" | "submit")
            ),
            _ => el.has_attribute("contenteditable"),
        })
}

/// The Gestión form: the kind of call, then the outcome and the fields it asks for.
#[component]
pub fn GestionForm(
    client_id: i64,
    phones: Vec<Phone>,
    /// The phone just dialled, if the form opened from a "Llamar" link.
    dialled: Option<i64>,
    on_close: Callback<()>,
    on_saved: Callback<()>,
) -> impl IntoView {
    let calendar = Resource::new(|| (), |_| calls_calendar());
    let input = RwSignal::new(OutcomeInput {
        situation: Situation::OutboundContacted.as_str().into(),
        contact_point_id: dialled,
        ..OutcomeInput::default()
    });
    let feedback = FormFeedback::default();
    let errors = feedback.errors;
    let situation = Memo::new(move |_| {
        input.with(|i| {
            i.situation
                .parse::<Situation>()
                .unwrap_or(Situation::OutboundContacted)
        })
    });
    let outcome = Memo::new(move |_| input.with(|i| i.outcome.parse::<Outcome>().ok()));
    let spec = Memo::new(move |_| outcome.get().and_then(|o| lookup(situation.get(), o)));
    let asks = move |f: Field| {
        spec.get()
            .is_some_and(|s| s.required.contains(&f) || s.optional.contains(&f))
    };
    let required = move |f: Field| spec.get().is_some_and(|s| s.required.contains(&f));
    let choose_situation = move |s: Situation| {
        input.update(|i| {
            i.situation = s.as_str().into();
            if lookup(s, i.outcome.parse().unwrap_or(Outcome::Callback)).is_none() {
                i.outcome.clear();
            }
        });
    };
    let choose_outcome = move |o: Outcome| input.update(|i| i.outcome = o.as_str().into());
    let save = Action::new_local(move |i: &OutcomeInput| {
        let mut i = i.clone();
        async move {
            i.attachments = read_attachments("gestion-files")
                .await
                .map_err(|m| AppError::invalid("attachments", m))?;
            register_outcome(client_id, i).await
        }
    });
    let recent = RwSignal::new(None::<String>);
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => on_saved.run(()),
        Some(Err(AppError::RecentlyAttended(question))) => recent.set(Some(question)),
        Some(Err(e)) => feedback.failure(e),
        None => {}
    });
    let dispatch = move |despite_recent: bool| {
        feedback.clear();
        recent.set(None);
        save.dispatch(OutcomeInput {
            despite_recent,
            ..input.get_untracked()
        });
    };

    #[cfg(feature = "hydrate")]
    {
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            if ev.ctrl_key() || ev.meta_key() || ev.alt_key() || typing(&ev) {
                return;
            }
            let key = ev.key();
            if key == "Escape" {
                on_close.run(());
                return;
            }
            let situations = [
                ("1", Situation::OutboundContacted),
                ("2", Situation::OutboundNotContacted),
                ("3", Situation::Inbound),
            ];
            if let Some((_, s)) = situations.iter().find(|(k, _)| *k == key) {
                ev.prevent_default();
                choose_situation(*s);
                return;
            }
            let mut chars = key.chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                if let Some(spec) = offered(situation.get_untracked()).find(|s| s.key == c) {
                    ev.prevent_default();
                    choose_outcome(spec.outcome);
                }
            }
        });
        on_cleanup(move || handle.remove());
    }

    let phone_options = {
        let phones = phones.clone();
        move || {
            std::iter::once((
                String::new(),
                "Sin teléfono (llamada entrante u otro)".to_string(),
            ))
            .chain(phones.iter().map(|p| {
                (
                    p.contact_point_id.to_string(),
                    format!("{} · {}", p.value, p.party_name),
                )
            }))
            .collect::<Vec<_>>()
        }
    };
    let text = move |get: fn(&OutcomeInput) -> String| Signal::derive(move || input.with(get));
    let set = move |apply: fn(&mut OutcomeInput, String)| {
        Callback::new(move |v: String| input.update(|i| apply(i, v)))
    };
    let is_callback = move || {
        spec.get()
            .is_some_and(|s| s.effects.contains(&Does::Reschedules))
    };
    let records_payment = move || {
        spec.get().is_some_and(|s| {
            s.effects.contains(&Does::PaymentToVerify)
                || (s.effects.contains(&Does::PromiseOrPaymentToVerify)
                    && input.with(|i| i.already_paid))
        })
    };
    let promise_like = move || {
        spec.get()
            .is_some_and(|s| s.effects.contains(&Does::PromiseOrPaymentToVerify))
    };
    view! {
        <section class="gestion-form card" role="dialog" aria-labelledby="gestion-title">
            <h3 id="gestion-title">"Registrar gestión"</h3>
            <form novalidate on:submit=move |ev| {
                ev.prevent_default();
                dispatch(false);
            }>
                <fieldset class="situations">
                    <legend>"Tipo de llamada (1, 2, 3)"</legend>
                    {Situation::ALL.iter().enumerate().map(|(n, s)| {
                        let s = *s;
                        view! {
                            <label class="choice">
                                <input type="radio" name="situation" value=s.as_str()
                                    prop:checked=move || situation.get() == s
                                    on:change=move |_| choose_situation(s) />
                                {format!("{} ({})", s.label(), n + 1)}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <fieldset class="outcomes">
                    <legend>"Resultado (tecla entre corchetes)"</legend>
                    {move || offered(situation.get()).map(|s| {
                        let o = s.outcome;
                        view! {
                            <label class="choice">
                                <input type="radio" name="outcome" value=o.as_str()
                                    prop:checked=move || outcome.get() == Some(o)
                                    on:change=move |_| choose_outcome(o) />
                                {o.label()}<kbd aria-hidden="true">{format!("[{}]", s.key)}</kbd>
                            </label>
                        }
                    }).collect_view()}
                    <FieldMessage errors name="outcome" />
                </fieldset>
                <SelectField label="Teléfono marcado" name="contact_point_id"
                    value=Signal::derive(move || input.with(|i| i.contact_point_id.map(|c| c.to_string()).unwrap_or_default()))
                    on_change=Callback::new(move |v: String| input.update(|i| i.contact_point_id = v.parse().ok()))
                    errors options=Signal::derive(phone_options) />
                <Show when=promise_like>
                    <label class="choice">
                        <input type="checkbox" prop:checked=move || input.with(|i| i.already_paid)
                            on:change=move |ev| input.update(|i| i.already_paid = event_target_checked(&ev)) />
                        "El cliente dice que ya pagó (registrar pago a verificar)"
                    </label>
                </Show>
                <Show when=move || asks(Field::Date) && is_callback()>
                    <Transition fallback=|| view! { <p class="loading">"Cargando calendario…"</p> }>
                        {move || Suspend::new(async move {
                            match calendar.await {
                                Ok((cal, today)) => view! {
                                    <CallbackCalendar value=text(|i| i.date.clone()) on_pick=set(|i, v| i.date = v)
                                        calendar=cal today errors />
                                }.into_any(),
                                Err(error) => view! { <crate::ui::components::ErrorNotice error /> }.into_any(),
                            }
                        })}
                    </Transition>
                </Show>
                <Show when=move || asks(Field::Date) && !is_callback()>
                    // Rebuilt when "ya pagó" flips: a payment's date looks back, a promise's ahead.
                    {move || {
                        let label = if records_payment() { "Fecha del pago" } else { "Fecha del compromiso" };
                        view! {
                            <TextField label name="date" input_type="date"
                                value=text(|i| i.date.clone()) on_input=set(|i, v| i.date = v) errors required=true />
                        }
                    }}
                </Show>
                <Show when=move || asks(Field::Amount)>
                    <TextField label="Monto" name="amount" value=text(|i| i.amount.clone())
                        on_input=set(|i, v| i.amount = v) errors required=true />
                </Show>
                <Show when=move || asks(Field::PaymentMethod)>
                    <TextField label="Medio de pago" name="payment_method" value=text(|i| i.payment_method.clone())
                        on_input=set(|i, v| i.payment_method = v) errors />
                </Show>
                <Show when=move || asks(Field::Reference)>
                    <TextField label="Referencia" name="reference" value=text(|i| i.reference.clone())
                        on_input=set(|i, v| i.reference = v) errors />
                </Show>
                <Show when=move || asks(Field::UntilDate)>
                    <TextField label="Pausar hasta" name="until_date" input_type="date" value=text(|i| i.until_date.clone())
                        on_input=set(|i, v| i.until_date = v) errors required=true />
                </Show>
                <Show when=move || asks(Field::Code)>
                    <SelectField label="Código de la solicitud" name="code" value=text(|i| i.code.clone())
                        on_change=set(|i, v| i.code = v) errors
                        options=Signal::derive(|| std::iter::once((String::new(), "Elige…".to_string()))
                            .chain(INFORMATION_CODES.iter().map(|c| (c.to_string(), c.to_string()))).collect::<Vec<_>>()) />
                </Show>
                <Show when=move || asks(Field::Reason)>
                    <TextField label="Motivo del reclamo" name="reason" value=text(|i| i.reason.clone())
                        on_input=set(|i, v| i.reason = v) errors required=true />
                </Show>
                <Show when=move || asks(Field::Note)>
                    <div class="field">
                        <label for="gestion-note">{move || if required(Field::Note) { "Nota *" } else { "Nota" }}</label>
                        <textarea id="gestion-note" rows="3" prop:value=text(|i| i.note.clone())
                            on:input=move |ev| input.update(|i| i.note = event_target_value(&ev))></textarea>
                        <FieldMessage errors name="note" />
                    </div>
                </Show>
                <Show when=move || asks(Field::Attachment)>
                    <div class="field">
                        <label for="gestion-files">"Adjuntos (comprobante u otro documento)"</label>
                        <input id="gestion-files" type="file" multiple />
                        <FieldMessage errors name="attachments" />
                    </div>
                </Show>
                {feedback.view()}
                <RecentQuestion question=recent go_ahead="Guardar de todos modos"
                    on_confirm=Callback::new(move |()| dispatch(true)) />
                <div class="actions">
                    <button type="submit" disabled=move || save.pending().get()>"Guardar gestión"</button>
                    <button type="button" class="secondary" on:click=move |_| on_close.run(())>"Cancelar"</button>
                </div>
            </form>
        </section>
    }
}

fn files_list(files: Vec<AttachmentMeta>) -> impl IntoView {
    (!files.is_empty()).then(|| {
        view! {
            <ul class="attachments">
                {files.into_iter().map(|a| view! {
                    <li><a href=format!("/api/management-files/{}", a.id) rel="external">{a.file_name}</a></li>
                }).collect_view()}
            </ul>
        }
    })
}

fn payment_line(p: &PaymentEntry) -> String {
    let mut s = format!(
        "Pago {}: {} del {}",
        p.status.label().to_lowercase(),
        format_money(p.amount_cents, &p.currency),
        fmt_date(p.paid_on)
    );
    if !p.method.is_empty() {
        s.push_str(&format!(" · {}", p.method));
    }
    if !p.reference.is_empty() {
        s.push_str(&format!(" · ref. {}", p.reference));
    }
    if let (Some(who), Some(at)) = (&p.reviewed_by_name, p.reviewed_at) {
        s.push_str(&format!(" — revisado por {who} el {}", fmt_datetime(at)));
    }
    if !p.review_reason.is_empty() {
        s.push_str(&format!(": {}", p.review_reason));
    }
    if p.unapplied_cents > 0 {
        s.push_str(&format!(
            " (sin aplicar: {})",
            format_money(p.unapplied_cents, &p.currency)
        ));
    }
    s
}

fn promise_line(p: &PromiseEntry) -> String {
    format!(
        "Compromiso de {} para el {} — {}",
        format_money(p.amount_cents, &p.currency),
        fmt_date(p.promised_date),
        p.state.label()
    )
}

/// A registered outcome in the timeline: who, when, the result, its values and note.
#[component]
pub fn OutcomeItem(o: OutcomeEntry, gestion: StoredValue<Gestion>) -> impl IntoView {
    let promise = gestion.with_value(|g| {
        g.promises
            .iter()
            .find(|p| p.outcome_id == Some(o.id))
            .map(promise_line)
    });
    let payment = gestion.with_value(|g| {
        g.payments
            .iter()
            .find(|p| p.outcome_id == Some(o.id))
            .map(payment_line)
    });
    let mut details = Vec::new();
    if promise.is_none() && payment.is_none() {
        if let Some(d) = o.date {
            details.push(format!("Fecha: {}", fmt_date(d)));
        }
    }
    if let Some(d) = o.until_date {
        details.push(format!("Pausado hasta: {}", fmt_date(d)));
    }
    if !o.code.is_empty() {
        details.push(format!("Código: {}", o.code));
    }
    if !o.reason.is_empty() {
        details.push(format!("Motivo: {}", o.reason));
    }
    let who = o.user_name.clone();
    view! {
        <li class="message gestion-item">
            <span class="avatar operator" title=who.clone() aria-hidden="true">{initials(&who)}</span>
            <div class="bubble">
                <div class="meta">
                    <span class="who">{who.clone()}</span>
                    <span>{format!("Gestión · {}", o.situation.label())}</span>
                    {(!o.phone.is_empty()).then(|| view! { <span>{o.phone.clone()}</span> })}
                    <time>{fmt_datetime(o.at)}</time>
                </div>
                <p class="result"><strong>{o.outcome.label()}</strong>
                    <span class="small">{format!(" · {}", o.class.label())}</span></p>
                {details.into_iter().map(|d| view! { <p class="small">{d}</p> }).collect_view()}
                {promise.map(|p| view! { <p class="money-line">{p}</p> })}
                {payment.map(|p| view! { <p class="money-line">{p}</p> })}
                {(!o.note.is_empty()).then(|| view! { <p class="note">{o.note.clone()}</p> })}
                {files_list(o.files.clone())}
            </div>
        </li>
    }
}

/// A promise or a payment registered from the debt panel, outside a call.
#[component]
pub fn MoneyItem(
    line: String,
    who: String,
    at: chrono::NaiveDateTime,
    files: Vec<AttachmentMeta>,
) -> impl IntoView {
    view! {
        <li class="message gestion-item">
            <span class="avatar operator" title=who.clone() aria-hidden="true">{initials(&who)}</span>
            <div class="bubble">
                <div class="meta">
                    <span class="who">{who.clone()}</span>
                    <span>"Panel de deuda"</span>
                    <time>{fmt_datetime(at)}</time>
                </div>
                <p class="money-line">{line}</p>
                {files_list(files)}
            </div>
        </li>
    }
}

pub fn standalone_lines(
    g: &Gestion,
) -> Vec<(chrono::NaiveDateTime, String, String, Vec<AttachmentMeta>)> {
    let promises = g
        .promises
        .iter()
        .filter(|p| p.outcome_id.is_none())
        .map(|p| (p.at, promise_line(p), p.created_by_name.clone(), Vec::new()));
    let payments = g
        .payments
        .iter()
        .filter(|p| p.outcome_id.is_none())
        .map(|p| {
            (
                p.at,
                payment_line(p),
                p.declared_by_name.clone(),
                p.files.clone(),
            )
        });
    promises.chain(payments).collect()
}

/// The debt panel's "Registrar compromiso" and "Registrar pago a verificar".
#[component]
pub fn DeclareForm(
    client_id: i64,
    payment: bool,
    on_done: Callback<()>,
    /// On the payment portal: the link's token and the visit, instead of a signed-in user.
    #[prop(optional)]
    portal: Option<(String, i64)>,
) -> impl IntoView {
    let input = RwSignal::new(DeclareInput {
        client_id,
        payment,
        ..DeclareInput::default()
    });
    let feedback = FormFeedback::default();
    let errors = feedback.errors;
    let files_id = if payment {
        "declare-payment-files"
    } else {
        "declare-promise-files"
    };
    let save = Action::new_local(move |i: &DeclareInput| {
        let mut i = i.clone();
        let portal = portal.clone();
        async move {
            if i.payment {
                i.attachments = read_attachments(files_id)
                    .await
                    .map_err(|m| AppError::invalid("attachments", m))?;
            }
            match portal {
                Some((token, visit)) => portal_declare(token, visit, i).await,
                None => declare(i).await,
            }
        }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(())) => on_done.run(()),
        Some(Err(e)) => feedback.failure(e),
        None => {}
    });
    let text = move |get: fn(&DeclareInput) -> String| Signal::derive(move || input.with(get));
    let set = move |apply: fn(&mut DeclareInput, String)| {
        Callback::new(move |v: String| input.update(|i| apply(i, v)))
    };
    let title = if payment {
        "Registrar pago a verificar"
    } else {
        "Registrar compromiso de pago"
    };
    view! {
        <form class="declare-form" novalidate aria-label=title on:submit=move |ev| {
            ev.prevent_default();
            feedback.clear();
            save.dispatch(input.get_untracked());
        }>
            <TextField label=if payment { "Fecha del pago" } else { "Fecha del compromiso" } name="date" input_type="date"
                value=text(|i| i.date.clone()) on_input=set(|i, v| i.date = v) errors required=true />
            <TextField label="Monto" name="amount" value=text(|i| i.amount.clone())
                on_input=set(|i, v| i.amount = v) errors required=true />
            <Show when=move || payment>
                <TextField label="Medio de pago" name="payment_method" value=text(|i| i.payment_method.clone())
                    on_input=set(|i, v| i.payment_method = v) errors />
                <TextField label="Referencia" name="reference" value=text(|i| i.reference.clone())
                    on_input=set(|i, v| i.reference = v) errors />
                <TextField label="Nota" name="note" value=text(|i| i.note.clone())
                    on_input=set(|i, v| i.note = v) errors />
                <div class="field">
                    <label for=files_id>"Comprobante"</label>
                    <input id=files_id type="file" multiple />
                    <FieldMessage errors name="attachments" />
                </div>
            </Show>
            {feedback.view()}
            <button type="submit" disabled=move || save.pending().get()>{title}</button>
        </form>
    }
}
