//! One client's conversation: tabs per party, messages, portal visits, the debt panel,
//! "Omitir" and internal notes.

use leptos::prelude::*;

use super::composer::{Composer, Draft};
use super::gestion::{standalone_lines, DeclareForm, GestionForm, MoneyItem, OutcomeItem, Phones};
use super::presence::PresenceLine;
use super::{InboxVersion, TrayContext};
use crate::api::conversations::{dismiss, get_composer, get_conversation, reply};
use crate::domain::alerts::AlertHistoryEntry;
use crate::domain::calls::{Gestion, PaymentStatus, Phone, PromiseState};
use crate::domain::client::{ClientDetail, PartyRole};
use crate::domain::compose::ComposerContext;
use crate::domain::conversation::{
    initials, Conversation, DismissTarget, Message, PortalVisit, ReplyInput,
};
use crate::domain::error::AppError;
use crate::domain::message::{Channel, Direction};
use crate::domain::money::format_money;
use crate::ui::alerts::{AlertFlags, PointFlag};
use crate::ui::components::{fmt_date, fmt_datetime, fmt_opt_date, id_param, ErrorNotice};

#[component]
pub fn ConversationPane() -> impl IntoView {
    let id = id_param();
    let reload = RwSignal::new(0u64);
    let version = expect_context::<InboxVersion>();
    let conversation = Resource::new(
        move || (id.get(), reload.get(), version.0.get()),
        |(id, _, _)| async move {
            match id {
                Some(id) => get_conversation(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    let composer = Resource::new(
        move || (id.get(), reload.get(), version.0.get()),
        |(id, _, _)| async move {
            match id {
                Some(id) => get_composer(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    // The tab the user chose and what they are writing stay across reloads of the
    // same conversation.
    let tab = RwSignal::new(None::<PartyRole>);
    let draft = Draft::new();
    Effect::new(move |_| {
        id.track();
        tab.set(None);
        draft.reset();
    });
    let changed = Callback::new(move |()| version.bump());
    // A message in or out, a status, an outcome, from this process or another: the
    // screen reloads, and after a dropped connection the stream replays what it missed.
    crate::ui::live::on_client_changes(id, move || reload.update(|n| *n += 1));
    // The outcome form lives outside the view that reloads: a message arriving, or
    // "Refrescar", while the advisor fills it in must not close it or drop what they
    // wrote.
    let outcome = OutcomeDraft {
        open: RwSignal::new(false),
        dialled: RwSignal::new(None),
        phones: StoredValue::new(Vec::new()),
    };
    Effect::new(move |_| {
        id.track();
        outcome.open.set(false);
    });
    let tray = use_context::<TrayContext>();
    let navigate = leptos_router::hooks::use_navigate();
    let location = leptos_router::hooks::use_location();
    // After an outcome in Llamadas the advisor moves on to the tray's next client.
    let saved = Callback::new(move |()| {
        outcome.open.set(false);
        let Some(client_id) = id.get_untracked() else {
            return;
        };
        if let Some(tray) = tray.filter(|t| t.advances_after_outcome) {
            let ids = tray.ids.get_untracked();
            let next = ids
                .iter()
                .position(|x| *x == client_id)
                .and_then(|i| {
                    ids.get(i + 1)
                        .or_else(|| i.checked_sub(1).and_then(|j| ids.get(j)))
                })
                .copied();
            let search = location.search.get_untracked();
            let path = match next {
                Some(id) => format!("{}/{id}", tray.base),
                None => tray.base.to_string(),
            };
            let query = if search.is_empty() {
                String::new()
            } else {
                format!("?{}", search.trim_start_matches('?'))
            };
            navigate(&format!("{path}{query}"), Default::default());
        }
        changed.run(());
    });
    view! {
        <Transition fallback=|| view! { <p class="loading">"Cargando conversación…"</p> }>
            {move || Suspend::new(async move {
                match (conversation.await, composer.await) {
                    (Ok(c), Ok(k)) => view! { <ConversationView c composer=k draft tab changed outcome /> }.into_any(),
                    (Err(error), _) | (_, Err(error)) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
        <Show when=move || outcome.open.get()>
            {move || id.get_untracked().map(|client_id| view! {
                <GestionForm client_id phones=outcome.phones.get_value()
                    dialled=outcome.dialled.get_untracked()
                    on_close=Callback::new(move |()| outcome.open.set(false)) on_saved=saved />
            })}
        </Show>
    }
}

/// The outcome form's state, kept by the pane across reloads of the conversation.
#[derive(Clone, Copy)]
struct OutcomeDraft {
    open: RwSignal<bool>,
    /// The phone just dialled, when the form opened from "Llamar".
    dialled: RwSignal<Option<i64>>,
    /// The client's phones as the last load showed them.
    phones: StoredValue<Vec<Phone>>,
}

#[component]
fn ConversationView(
    c: Conversation,
    composer: ComposerContext,
    draft: Draft,
    tab: RwSignal<Option<PartyRole>>,
    changed: Callback<()>,
    outcome: OutcomeDraft,
) -> impl IntoView {
    let client_id = c.client.id;
    let open_tab = c.open_tab;
    let active = move || tab.get().unwrap_or(open_tab);
    let details_open = RwSignal::new(false);
    let last_message_id = c.last_message_id;
    let omit = Action::new(move |role: &PartyRole| {
        let target = DismissTarget {
            client_id,
            party_role: Some(*role),
            up_to_message_id: Some(last_message_id),
        };
        async move { dismiss(target).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = omit.value().get() {
            changed.run(());
        }
    });
    let composer = StoredValue::new(composer);
    let client = StoredValue::new(c.client.clone());
    let messages = StoredValue::new(c.messages.clone());
    let gestion = StoredValue::new(c.gestion.clone());
    outcome.phones.set_value(c.gestion.phones.clone());
    // Dialling a number opens the outcome form for that phone: with `tel:` the call
    // happens outside the browser, so the form waits beside it.
    let dial = Callback::new(move |phone: i64| {
        outcome.dialled.set(Some(phone));
        outcome.open.set(true);
    });
    let visits = StoredValue::new(c.visits.clone());
    let tabs = c.tabs.clone();
    let pending_in = move |role: PartyRole| {
        tabs.iter()
            .find(|t| t.role == role)
            .map_or(0, |t| t.pending)
    };
    let pending_in = StoredValue::new(pending_in);
    let name = c.client.display_name.clone();
    let flags = c.client.flags();
    let history = c.alert_history.clone();
    view! {
        <article class="conversation">
            <header class="conversation-head">
                <h2>
                    <button type="button" class="link title" aria-expanded=move || details_open.get().to_string()
                        aria-controls="client-details" on:click=move |_| details_open.update(|o| *o = !*o)>
                        {name.clone()}
                    </button>
                    <AlertFlags client_id flags lifted=changed />
                </h2>
                <a class="small" href=format!("/clientes/{client_id}")>"Ficha del cliente"</a>
                <PresenceLine client_id body=draft.body />
            </header>
            <Show when=move || details_open.get()>
                <ClientInfo client=client.get_value() />
            </Show>
            <div class="conversation-body">
                <div class="conversation-main">
                    <div role="tablist" aria-label="Con quién">
                        {[PartyRole::Client, PartyRole::Reference, PartyRole::Guarantor].into_iter().map(|role| {
                            let pending = pending_in.with_value(|f| f(role));
                            let label = match role {
                                PartyRole::Client => "Cliente",
                                PartyRole::Reference => "Referencias",
                                PartyRole::Guarantor => "Garantes",
                            };
                            view! {
                                <button type="button" role="tab" id=format!("tab-{}", role.as_str())
                                    aria-controls="tab-panel"
                                    aria-selected=move || (active() == role).to_string()
                                    class:pending={pending > 0}
                                    on:click=move |_| {
                                        tab.set(Some(role));
                                        draft.channel.set(None);
                                    }>
                                    {label}
                                    <Show when=move || { pending > 0 }>
                                        <span class="badge">{pending}<span class="visually-hidden">" por responder"</span></span>
                                    </Show>
                                </button>
                            }
                        }).collect_view()}
                    </div>
                    <div role="tabpanel" id="tab-panel" aria-labelledby=move || format!("tab-{}", active().as_str())>
                        {move || {
                            let role = active();
                            let pending = pending_in.with_value(|f| f(role));
                            let shown: Vec<Message> = messages.with_value(|ms| ms.iter().filter(|m| m.party_role == role).cloned().collect());
                            let client = client.get_value();
                            let items = timeline(shown, &gestion.get_value(), role);
                            let empty = items.is_empty();
                            view! {
                                <Show when=move || { pending > 0 }>
                                    <div class="pending-bar">
                                        <span>{format!("{pending} sin responder")}</span>
                                        <button type="button" class="secondary small" disabled=move || omit.pending().get()
                                            on:click=move |_| {
                                                // Stay on this tab when the reload finds nothing pending.
                                                tab.set(Some(role));
                                                omit.dispatch(role);
                                            }>"Omitir"</button>
                                    </div>
                                </Show>
                                {(role == PartyRole::Client).then(|| view! { <Visits visits=visits.get_value() /> })}
                                <ol class="messages">
                                    {items.into_iter().map(|item| match item {
                                        Item::Message(m) => view! { <MessageItem m client=client.clone() /> }.into_any(),
                                        Item::Outcome(o) => view! { <OutcomeItem o gestion /> }.into_any(),
                                        Item::Money { line, who, at, files } => view! { <MoneyItem line who at files /> }.into_any(),
                                    }).collect_view()}
                                </ol>
                                <Show when=move || empty>
                                    <p class="empty">"Sin mensajes en esta pestaña."</p>
                                </Show>
                                <Composer client_id role ctx=composer.get_value() draft
                                    phones=gestion.with_value(|g| g.phones.clone()) on_dial=dial changed
                                    click_to_call=gestion.with_value(|g| g.click_to_call) />
                                <NoteForm client_id role changed />
                            }
                        }}
                        {move || omit.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
                    </div>
                </div>
                <div class="side-panel">
                    <Phones phones=gestion.with_value(|g| g.phones.clone()) on_dial=dial
                        click_to_call=gestion.with_value(|g| g.click_to_call) />
                    <DebtPanel client=client.get_value() gestion=gestion.get_value() changed />
                    <AlertHistory history />
                </div>
            </div>
            <button type="button" class="gestion-button" title="Gestión" aria-label="Registrar gestión"
                aria-expanded=move || outcome.open.get().to_string()
                on:click=move |_| {
                    outcome.dialled.set(None);
                    outcome.open.update(|o| *o = !*o);
                }>
                <span aria-hidden="true">"👤"</span>
            </button>
        </article>
    }
}

#[component]
fn ClientInfo(client: ClientDetail) -> impl IntoView {
    view! {
        <section id="client-details" class="client-details card" aria-label="Datos del cliente">
            <dl class="facts">
                <dt>"Documento"</dt><dd>{client.document_number.clone()}</dd>
                <dt>"Asesor"</dt><dd>{client.advisor_name.clone().unwrap_or_else(|| "Sin asignar".into())}</dd>
                <dt>"Segmento"</dt><dd>{if client.segment.is_empty() { "—".to_string() } else { client.segment.clone() }}</dd>
                <dt>"País"</dt><dd>{client.country.clone()}</dd>
                <dt>"Contactabilidad"</dt><dd>{client.alerts.contactability().label()}</dd>
            </dl>
            <ul class="parties">
                {client.parties.iter().map(|p| view! {
                    <li>
                        <strong>{p.title()}": "</strong>{p.name.clone()}
                        {p.contacts.iter().map(|c| view! {
                            <span class="contact">{format!(" · {}: {}", c.kind.label(), c.value)}<PointFlag problem=c.problem /></span>
                        }).collect_view()}
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
}

/// What raised and lifted the client's alerts, newest first, folded away.
#[component]
fn AlertHistory(history: Vec<AlertHistoryEntry>) -> impl IntoView {
    (!history.is_empty()).then(|| {
        view! {
            <details class="alert-history card">
                <summary>"Historial de alertas"</summary>
                <ol>
                    {history.into_iter().map(|h| {
                        let who = h.by.unwrap_or_else(|| "Sistema".into());
                        let verb = if h.raised { "Activada" } else { "Quitada" };
                        view! {
                            <li>
                                <strong>{format!("{verb}: {}", h.flag)}</strong>
                                <span class="small">{format!(" · {} · {who} · {}", h.cause, fmt_datetime(h.at))}</span>
                                {(!h.reason.is_empty()).then(|| view! { <p class="small">{format!("Motivo: {}", h.reason)}</p> })}
                            </li>
                        }
                    }).collect_view()}
                </ol>
            </details>
        }
    })
}

/// What a conversation tab shows, oldest first.
enum Item {
    Message(Message),
    Outcome(crate::domain::calls::OutcomeEntry),
    Money {
        line: String,
        who: String,
        at: chrono::NaiveDateTime,
        files: Vec<crate::domain::message::AttachmentMeta>,
    },
}

/// The tab's messages with the outcomes registered for its party and, in the client's
/// tab, the promises and payments registered from the debt panel, in time order.
fn timeline(messages: Vec<Message>, g: &Gestion, role: PartyRole) -> Vec<Item> {
    let mut items: Vec<(chrono::NaiveDateTime, Item)> = messages
        .into_iter()
        .map(|m| (m.at, Item::Message(m)))
        .collect();
    items.extend(
        g.outcomes
            .iter()
            .filter(|o| o.party_role == role)
            .map(|o| (o.at, Item::Outcome(o.clone()))),
    );
    if role == PartyRole::Client {
        items.extend(
            standalone_lines(g)
                .into_iter()
                .map(|(at, line, who, files)| {
                    (
                        at,
                        Item::Money {
                            line,
                            who,
                            at,
                            files,
                        },
                    )
                }),
        );
    }
    items.sort_by_key(|(at, _)| *at);
    items.into_iter().map(|(_, i)| i).collect()
}

#[component]
fn DebtPanel(client: ClientDetail, gestion: Gestion, changed: Callback<()>) -> impl IntoView {
    let client_id = client.id;
    let declaring = RwSignal::new(None::<bool>);
    let done = Callback::new(move |()| {
        declaring.set(None);
        changed.run(());
    });
    let pending_promises: Vec<String> = gestion
        .promises
        .iter()
        .filter(|p| p.state == PromiseState::Pending)
        .map(|p| {
            format!(
                "{} para el {}",
                format_money(p.amount_cents, &p.currency),
                fmt_date(p.promised_date)
            )
        })
        .collect();
    let to_verify: Vec<String> = gestion
        .payments
        .iter()
        .filter(|p| p.status == PaymentStatus::ToVerify)
        .map(|p| {
            format!(
                "{} del {}",
                format_money(p.amount_cents, &p.currency),
                fmt_date(p.paid_on)
            )
        })
        .collect();
    let flow = match (gestion.flow_stop, gestion.flow_paused_until) {
        (Some(stop), _) => Some(format!("Detenido: {}", stop.label())),
        (None, Some(d)) => Some(format!("Suspendido hasta el {}", fmt_date(d))),
        _ => None,
    };
    let call = gestion
        .call_due
        .map(|(d, r)| format!("{} · {}", fmt_date(d), r.label()));
    let currency = client.currency.clone();
    let segment = if client.segment.is_empty() {
        "Sin segmento".to_string()
    } else {
        client.segment.clone()
    };
    view! {
        <aside class="debt-panel" aria-label="Deuda">
            <dl class="facts">
                <dt>"Segmento / flujo"</dt><dd>{segment}</dd>
                <dt>"Vencimiento más antiguo"</dt><dd>{fmt_opt_date(client.summary.oldest_unpaid_due_date)}</dd>
                <dt>"Días de atraso"</dt><dd>{client.days_overdue}</dd>
                <dt>"Deuda total vencida"</dt><dd>{format_money(client.summary.overdue_total_cents, &currency)}</dd>
                <dt>"Próxima llamada"</dt><dd>{call.unwrap_or_else(|| "—".into())}</dd>
                <dt>"Flujo principal"</dt><dd>{flow.unwrap_or_else(|| "Activo".into())}</dd>
                <dt>"Compromisos pendientes"</dt>
                <dd>{if pending_promises.is_empty() { "—".to_string() } else { pending_promises.join("; ") }}</dd>
                <dt>"Pagos a verificar"</dt>
                <dd>{if to_verify.is_empty() { "—".to_string() } else { to_verify.join("; ") }}</dd>
            </dl>
            <div class="actions">
                <button type="button" class="secondary small" aria-expanded=move || (declaring.get() == Some(false)).to_string()
                    on:click=move |_| declaring.update(|d| *d = if *d == Some(false) { None } else { Some(false) })>"Registrar compromiso"</button>
                <button type="button" class="secondary small" aria-expanded=move || (declaring.get() == Some(true)).to_string()
                    on:click=move |_| declaring.update(|d| *d = if *d == Some(true) { None } else { Some(true) })>"Registrar pago a verificar"</button>
            </div>
            {move || declaring.get().map(|payment| view! { <DeclareForm client_id payment on_done=done /> })}
            <details>
                <summary>"Detalle de la deuda"</summary>
                <table class="debts">
                    <thead><tr><th scope="col">"Orden"</th><th scope="col" class="num">"Monto"</th><th scope="col" class="num">"Pagado"</th><th scope="col">"Vence"</th></tr></thead>
                    <tbody>
                        {client.debts.iter().map(|d| view! {
                            <tr>
                                <td>{d.number.clone()}</td>
                                <td class="num">{format_money(d.amount_cents, &d.currency)}</td>
                                <td class="num">{format_money(d.paid_cents, &d.currency)}</td>
                                <td>{fmt_date(d.due_date)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </details>
        </aside>
    }
}

#[component]
fn Visits(visits: Vec<PortalVisit>) -> impl IntoView {
    view! {
        <ul class="visits">
            {visits.into_iter().map(|v| view! {
                <li class="visit">
                    <strong>{format!("Visita página de cobros — {}", v.page_name)}</strong>
                    {(!v.preview_agent.is_empty()).then(|| view! {
                        <span class="small">{format!(" (vista previa de {}: no la abrió el deudor)", v.preview_agent)}</span>
                    })}
                    <span class="when">{fmt_datetime(v.at)}</span>
                    <ol class="states">
                        {v.states.into_iter().map(|(s, at)| view! { <li>{s.label()}" · "{fmt_datetime(at)}</li> }).collect_view()}
                    </ol>
                </li>
            }).collect_view()}
        </ul>
    }
}

fn party_name(client: &ClientDetail, m: &Message) -> String {
    client
        .parties
        .iter()
        .find(|p| p.role == m.party_role && p.ordinal == m.party_ordinal)
        .map(|p| p.name.clone())
        .unwrap_or_else(|| m.sender_name.clone())
}

#[component]
fn MessageItem(m: Message, client: ClientDetail) -> impl IntoView {
    let expanded = RwSignal::new(false);
    let history_open = RwSignal::new(false);
    let (who, avatar_class) = match m.direction {
        Direction::Inbound => (party_name(&client, &m), "avatar debtor"),
        _ => (
            m.author_name
                .clone()
                .unwrap_or_else(|| m.origin.map_or("Recaudo", |o| o.label()).to_string()),
            "avatar operator",
        ),
    };
    let class = format!("message {}", m.direction.as_str());
    let history = m.history.clone();
    let status = m.status;
    let channel = m.channel;
    let handled = m.handling.map(|h| {
        format!(
            "{} por {} el {}",
            h.label(),
            m.handled_by_name.clone().unwrap_or_default(),
            m.handled_at.map(fmt_datetime).unwrap_or_default()
        )
    });
    let pending = m.pending;
    let subject = (!m.subject.is_empty()).then(|| m.subject.clone());
    let html = (!m.body_html.is_empty()).then(|| mail_document(&m.body_html));
    view! {
        <li class=class>
            <span class=avatar_class title=who.clone() aria-hidden="true">{initials(&who)}</span>
            <div class="bubble">
                <div class="meta">
                    <span class="who">{who.clone()}</span>
                    <span>{m.channel.label()}</span>
                    {(m.channel != Channel::Note && !m.address.is_empty()).then(|| view! { <span>{m.address.clone()}</span> })}
                    <time>{fmt_datetime(m.at)}</time>
                    <Show when=move || pending><span class="tag pending">"Sin responder"</span></Show>
                </div>
                {subject.map(|s| view! { <p class="subject">{s}</p> })}
                {(!m.cc.is_empty()).then(|| view! { <p class="small">{format!("CC: {}", m.cc)}</p> })}
                {(!m.bcc.is_empty()).then(|| view! { <p class="small">{format!("CCO: {}", m.bcc)}</p> })}
                {match html {
                    Some(document) => view! {
                        <div class="mail-html">
                            // No scripts, no same-origin access, nothing loaded from outside
                            // (the document's own policy), even if the sanitiser missed
                            // something; links open apart.
                            <iframe title="Correo recibido (HTML)" class:expanded=move || expanded.get()
                                sandbox="allow-popups allow-popups-to-escape-sandbox" srcdoc=document></iframe>
                            <button type="button" class="link small" aria-expanded=move || expanded.get().to_string()
                                on:click=move |_| expanded.update(|e| *e = !*e)>
                                {move || if expanded.get() { "Reducir" } else { "Ampliar" }}</button>
                        </div>
                    }.into_any(),
                    None => view! {
                        <button type="button" class="body" class:expanded=move || expanded.get()
                            aria-expanded=move || expanded.get().to_string()
                            on:click=move |_| expanded.update(|e| *e = !*e)>{m.body.clone()}</button>
                    }.into_any(),
                }}
                {(!m.attachments.is_empty()).then(|| view! {
                    <ul class="attachments">
                        {m.attachments.iter().map(|a| view! {
                            <li><a href=format!("/api/attachments/{}", a.id) rel="external">{a.file_name.clone()}</a>
                                {format!(" ({} KB)", (a.size_bytes + 1023) / 1024)}</li>
                        }).collect_view()}
                    </ul>
                })}
                {status.map(|s| view! {
                    <div class="status">
                        <button type="button" class="link small" aria-expanded=move || history_open.get().to_string()
                            on:click=move |_| history_open.update(|o| *o = !*o)>{format!("Estado: {}", s.label_on(channel))}</button>
                        <Show when=move || history_open.get()>
                            <ol class="history">
                                {history.iter().map(|h| view! {
                                    <li>{h.status.label_on(channel)}" · "{fmt_datetime(h.at)}
                                        {(!h.detail.is_empty()).then(|| format!(" — {}", h.detail))}</li>
                                }).collect_view()}
                            </ol>
                        </Show>
                    </div>
                })}
                {handled.map(|h| view! { <p class="handled">{h}</p> })}
            </div>
        </li>
    }
}

/// Internal notes: seen by users only, answer nothing.
#[component]
fn NoteForm(client_id: i64, role: PartyRole, changed: Callback<()>) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let save = Action::new(move |body: &String| {
        let input = ReplyInput::text(client_id, role, Channel::Note, "", body);
        async move { reply(input).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            text.set(String::new());
            changed.run(());
        }
    });
    let field = format!("note-{}", role.as_str());
    view! {
        <form class="note-form" on:submit=move |ev| {
            ev.prevent_default();
            save.dispatch(text.get_untracked());
        }>
            <label for=field.clone()>"Nota interna (solo la ven los usuarios)"</label>
            <textarea id=field rows="2" prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            <button type="submit" class="secondary small" disabled=move || save.pending().get()>"Guardar nota"</button>
            {move || save.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
        </form>
    }
}

/// A received e-mail's sanitised HTML as the document of its frame: a policy that
/// loads nothing from anywhere (inline styles only), and links opening apart.
fn mail_document(html: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <base target=\"_blank\"><style>body{{font-family:system-ui,sans-serif;font-size:14px;margin:8px;\
         color:#1f2933;overflow-wrap:anywhere}}</style></head><body>{html}</body></html>"
    )
}
