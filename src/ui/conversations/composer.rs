//! The composer at the bottom of a conversation tab: the channel as a radio group
//! (greyed, with the reason on hover, where it cannot be used), the channel's own
//! fields and rules, templates, tags, emojis and attachments.

use leptos::prelude::*;

use super::gestion::Phones;
use super::recent::RecentQuestion;
use crate::api::conversations::{contact_check, reply, simulate_reply};
use crate::domain::calls::Phone;
use crate::domain::client::PartyRole;
use crate::domain::compose::{
    sms_length, ComposerContext, DocumentRef, PartyComposer, ReplyTarget, TemplateChoice,
};
use crate::domain::conversation::ReplyInput;
use crate::domain::error::AppError;
use crate::domain::governance::{ContactVerdict, Verdict};
use crate::domain::message::Channel;
use crate::domain::templates::TAGS;
use crate::ui::components::{
    fmt_datetime, read_attachments, ErrorNotice, FieldMessage, FormFeedback,
};

const EMOJIS: [&str; 8] = ["🙂", "👍", "🙏", "✅", "📅", "💳", "📄", "⚠️"];
const FILES_ID: &str = "composer-files";

/// What is being written: kept by the conversation screen, so that a reload (a new
/// message, a status update) does not lose it.
#[derive(Clone, Copy)]
pub struct Draft {
    party: RwSignal<Option<(PartyRole, i32)>>,
    pub(super) channel: RwSignal<Option<Channel>>,
    subject: RwSignal<String>,
    pub(super) body: RwSignal<String>,
    cc: RwSignal<String>,
    bcc: RwSignal<String>,
    template: RwSignal<Option<i64>>,
    documents: RwSignal<Vec<DocumentRef>>,
    /// Bumped to empty the file input.
    files: RwSignal<u64>,
    /// Why the advisor goes ahead despite the contact policy's warning.
    reason: RwSignal<String>,
    /// Whether the template picker is open: kept here so a reload of the conversation
    /// (a status arriving, another user's change) does not close it under the advisor.
    picking: RwSignal<bool>,
    feedback: FormFeedback,
}

impl Draft {
    pub fn new() -> Self {
        Draft {
            party: RwSignal::new(None),
            channel: RwSignal::new(None),
            subject: RwSignal::new(String::new()),
            body: RwSignal::new(String::new()),
            cc: RwSignal::new(String::new()),
            bcc: RwSignal::new(String::new()),
            template: RwSignal::new(None),
            documents: RwSignal::new(Vec::new()),
            files: RwSignal::new(0),
            reason: RwSignal::new(String::new()),
            picking: RwSignal::new(false),
            feedback: FormFeedback::default(),
        }
    }

    /// Empties what was written, keeping the recipient and channel.
    pub fn clear(&self) {
        self.subject.set(String::new());
        self.body.set(String::new());
        self.cc.set(String::new());
        self.bcc.set(String::new());
        self.template.set(None);
        self.documents.set(Vec::new());
        self.files.update(|n| *n += 1);
        self.reason.set(String::new());
        self.picking.set(false);
        self.feedback.clear();
    }

    /// A new conversation starts from nothing and from the default channel.
    pub fn reset(&self) {
        self.clear();
        self.party.set(None);
        self.channel.set(None);
    }
}

impl Default for Draft {
    fn default() -> Self {
        Self::new()
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split([',', ';'])
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(String::from)
        .collect()
}

fn add_to_list(list: RwSignal<String>, email: &str) {
    list.update(|l| {
        let mut items = split_list(l);
        if !items.iter().any(|i| i.eq_ignore_ascii_case(email)) {
            items.push(email.to_string());
        }
        *l = items.join(", ");
    });
}

#[component]
pub fn Composer(
    client_id: i64,
    role: PartyRole,
    ctx: ComposerContext,
    draft: Draft,
    phones: Vec<Phone>,
    on_dial: Callback<i64>,
    changed: Callback<()>,
    click_to_call: bool,
) -> impl IntoView {
    let parties: Vec<PartyComposer> = ctx
        .parties
        .iter()
        .filter(|p| p.role == role)
        .cloned()
        .collect();
    if parties.is_empty() {
        return view! {
            <p class="composer empty">"No hay a quién escribir en esta pestaña: el cliente no tiene registrada esa referencia o garante."</p>
        }
        .into_any();
    }
    let parties = StoredValue::new(parties);
    let party = Memo::new(move |_| {
        let chosen = draft.party.get();
        parties.with_value(|ps| {
            ps.iter()
                .find(|p| Some((p.role, p.ordinal)) == chosen)
                .unwrap_or(&ps[0])
                .clone()
        })
    });
    let channel = Memo::new(move |_| {
        let p = party.get();
        draft
            .channel
            .get()
            .filter(|c| p.options.iter().any(|o| o.channel == *c && o.usable()))
            .or(p.default_channel)
    });
    let window_open = move || party.with(|p| p.window_until.is_some());
    let whatsapp = move || {
        matches!(
            channel.get(),
            Some(Channel::WhatsApp | Channel::WhatsAppBusiness)
        )
    };
    let templates_only = move || whatsapp() && !window_open();
    let templates = StoredValue::new(ctx.templates.clone());
    let documents = StoredValue::new(ctx.documents.clone());
    let sms_max = ctx.sms_max_segments;
    let chosen_template = Memo::new(move |_| {
        let id = draft.template.get()?;
        templates.with_value(|ts| ts.iter().find(|t| t.id == id).cloned())
    });
    let picking = draft.picking;
    let search = RwSignal::new(String::new());
    let offered = move || -> Vec<TemplateChoice> {
        let (c, only_approved) = (channel.get(), templates_only());
        let q = search.get().to_lowercase();
        templates.with_value(|ts| {
            ts.iter()
                .filter(|t| Some(t.channel) == c && t.recipient == role)
                .filter(|t| !only_approved || t.approved)
                .filter(|t| q.is_empty() || t.name.to_lowercase().contains(&q))
                .cloned()
                .collect()
        })
    };
    let sandboxed = StoredValue::new(ctx.sandbox_channels.clone());
    let simulate = Action::new(move |(p, c): &(PartyComposer, Channel)| {
        simulate_reply(ReplyTarget {
            client_id,
            party_role: p.role,
            party_ordinal: p.ordinal,
            channel: *c,
        })
    });
    // The contact policy's verdict before sending, asked again whenever the recipient
    // or channel changes and, for a reference, as the text changes (what a third party
    // may read). Asked from an effect, after hydration and outside any suspense: the
    // page the server rendered and the one the browser hydrates stay the same. Only the
    // latest question's answer is shown. The server judges again on send.
    let verdict = RwSignal::new(None::<ContactVerdict>);
    // Announced as aria-busy, so assistive technology and the browser tests know the
    // verdict on screen is the one for the recipient and channel now chosen.
    let checking = RwSignal::new(false);
    let asked = StoredValue::new(0u64);
    Effect::new(move |_| {
        let p = party.get();
        let c = channel.get();
        let text = if role == PartyRole::Reference {
            let template = chosen_template
                .get()
                .map(|t| format!("{}\n{}", t.subject, t.preview));
            template.unwrap_or_else(|| draft.body.get())
        } else {
            String::new()
        };
        asked.update_value(|n| *n += 1);
        let this = asked.get_value();
        let Some(c) = c else {
            verdict.set(None);
            checking.set(false);
            return;
        };
        checking.set(true);
        let target = ReplyTarget {
            client_id,
            party_role: p.role,
            party_ordinal: p.ordinal,
            channel: c,
        };
        leptos::task::spawn_local(async move {
            let answer = contact_check(target, text).await.ok();
            if asked.try_get_value() == Some(this) {
                verdict.set(answer);
                checking.set(false);
            }
        });
    });
    let check = move || verdict.get();
    let blocked = move || check().is_some_and(|c| c.verdict == Verdict::Block);
    let warned = move || check().is_some_and(|c| c.verdict == Verdict::Warn);
    let feedback = draft.feedback;
    let send = Action::new_local(move |input: &ReplyInput| {
        let mut input = input.clone();
        async move {
            input.attachments = read_attachments(FILES_ID)
                .await
                .map_err(|m| AppError::invalid("attachments", m))?;
            reply(input).await
        }
    });
    let recent = RwSignal::new(None::<String>);
    Effect::new(move |_| match send.value().get() {
        Some(Ok(_)) => {
            draft.clear();
            changed.run(());
        }
        Some(Err(AppError::RecentlyAttended(question))) => recent.set(Some(question)),
        Some(Err(e)) => feedback.failure(e),
        None => {}
    });
    let dispatch = move |despite_recent: bool| {
        feedback.clear();
        recent.set(None);
        let Some(c) = channel.get_untracked() else {
            return;
        };
        let p = party.get_untracked();
        let email = c == Channel::Email;
        send.dispatch(ReplyInput {
            client_id,
            party_role: p.role,
            party_ordinal: p.ordinal,
            channel: c,
            subject: if email {
                draft.subject.get_untracked()
            } else {
                String::new()
            },
            body: draft.body.get_untracked(),
            attachments: Vec::new(),
            cc: if email {
                split_list(&draft.cc.get_untracked())
            } else {
                Vec::new()
            },
            bcc: if email {
                split_list(&draft.bcc.get_untracked())
            } else {
                Vec::new()
            },
            template_id: draft.template.get_untracked(),
            documents: if email {
                draft.documents.get_untracked()
            } else {
                Vec::new()
            },
            override_reason: draft.reason.get_untracked(),
            despite_recent,
        });
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        dispatch(false);
    };
    let insert = move |text: &str| {
        let text = text.to_string();
        draft.body.update(|b| {
            if !b.is_empty() && !b.ends_with([' ', '\n']) {
                b.push(' ');
            }
            b.push_str(&text);
        });
    };
    let errors = feedback.errors;
    let group = format!("channel-{}", role.as_str());
    view! {
        <form class="composer" aria-label="Responder" aria-busy=move || checking.get().then_some("true")
            on:submit=submit>
            <Show when=move || parties.with_value(|p| p.len() > 1)>
                <label class="inline">"Para: "
                    <select on:change=move |ev| {
                        let v = event_target_value(&ev);
                        draft.party.set(v.parse::<i32>().ok().map(|o| (role, o)));
                        draft.channel.set(None);
                    }>
                        {parties.with_value(|ps| ps.iter().map(|p| {
                            let selected = party.get_untracked().ordinal == p.ordinal;
                            view! { <option value=p.ordinal.to_string() selected=selected>{p.name.clone()}</option> }
                        }).collect_view())}
                    </select>
                </label>
            </Show>
            <div role="radiogroup" aria-label="Canal" class="channels">
                {move || party.get().options.into_iter().map(|o| {
                    let c = o.channel;
                    let blocked = o.blocked.clone();
                    let title = blocked.clone().or_else(|| o.address.clone());
                    view! {
                        <label class="channel" class:active=move || channel.get() == Some(c)
                            class:blocked=blocked.is_some() title=title>
                            <input type="radio" name=group.clone() value=c.as_str()
                                disabled=blocked.is_some()
                                prop:checked=move || channel.get() == Some(c)
                                on:change=move |_| {
                                    draft.channel.set(Some(c));
                                    draft.template.set(None);
                                    feedback.clear();
                                } />
                            {c.label()}
                        </label>
                    }
                }).collect_view()}
            </div>
            <FieldMessage errors name="channel" />
            {move || check().filter(|c| c.verdict != Verdict::Allow).map(|c| view! {
                <p class="notice policy" class:error=c.verdict == Verdict::Block role="status">{c.message}</p>
            })}
            <Show when=warned>
                <div class="field">
                    <label for="override_reason">"Motivo para contactar pese a la advertencia"</label>
                    <textarea id="override_reason" rows="2"
                        aria-invalid=move || errors.with(|e| e.iter().any(|e| e.field == "override_reason")).then_some("true")
                        aria-describedby=move || errors.with(|e| e.iter().any(|e| e.field == "override_reason")).then_some("override_reason-error")
                        prop:value=move || draft.reason.get()
                        on:input=move |ev| draft.reason.set(event_target_value(&ev))></textarea>
                </div>
            </Show>
            <FieldMessage errors name="override_reason" />
            <FieldMessage errors name="policy" />
            {move || match channel.get() {
                None => view! { <p class="empty">"Ningún canal disponible para este destinatario."</p> }.into_any(),
                Some(Channel::Call) => {
                    let p = party.get();
                    let own: Vec<Phone> = phones
                        .iter()
                        .filter(|x| x.party_role == p.role && x.party_ordinal == p.ordinal)
                        .cloned()
                        .collect();
                    view! {
                        <div class="composer-call">
                            <Phones phones=own on_dial click_to_call />
                        </div>
                    }.into_any()
                }
                Some(c) => {
                    let address = party.with(|p| p.options.iter().find(|o| o.channel == c).and_then(|o| o.address.clone()));
                    view! {
                        <p class="small">{format!("{} · {}", c.label(), address.unwrap_or_default())}</p>
                        <Show when=move || whatsapp()>
                            {move || match party.with(|p| p.window_until) {
                                Some(until) => view! { <p class="small">{format!("Ventana de 24 horas abierta hasta el {}.", fmt_datetime(until))}</p> }.into_any(),
                                None => view! { <p class="notice">"Fuera de la ventana de 24 horas de WhatsApp: solo se pueden enviar plantillas aprobadas."</p> }.into_any(),
                            }}
                        </Show>
                        <Show when=move || channel.get() == Some(Channel::Email)>
                            <EmailFields draft party documents />
                        </Show>
                        <div class="template-bar">
                            <button type="button" class="secondary small" aria-expanded=move || picking.get().to_string()
                                on:click=move |_| picking.update(|p| *p = !*p)>"Plantillas"</button>
                            <Show when=move || picking.get()>
                                <div class="template-picker" role="group" aria-label="Plantillas">
                                    <input type="search" aria-label="Buscar plantilla" placeholder="Buscar plantilla"
                                        prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev)) />
                                    <ul>
                                        {move || {
                                            let list = offered();
                                            if list.is_empty() {
                                                return view! { <li class="empty">"No hay plantillas para este canal y destinatario."</li> }.into_any();
                                            }
                                            list.into_iter().map(|t| {
                                                let id = t.id;
                                                view! {
                                                    <li>
                                                        <button type="button" class="link" on:click=move |_| {
                                                            draft.template.set(Some(id));
                                                            picking.set(false);
                                                        }>{format!("Usar «{}»", t.name)}</button>
                                                        {(!t.approved && whatsapp()).then(|| view! { <span class="tag">"Sin aprobar"</span> })}
                                                    </li>
                                                }
                                            }).collect_view().into_any()
                                        }}
                                    </ul>
                                </div>
                            </Show>
                        </div>
                        <FieldMessage errors name="template" />
                        {move || match chosen_template.get() {
                            Some(t) => view! {
                                <div class="template-preview" aria-label="Plantilla elegida">
                                    <p><strong>{format!("Plantilla: {}", t.name)}</strong>" "
                                        <button type="button" class="link small" on:click=move |_| draft.template.set(None)>"Quitar plantilla"</button></p>
                                    {(!t.subject.is_empty()).then(|| view! { <p class="subject">{t.subject.clone()}</p> })}
                                    <p class="preview">{t.preview.clone()}</p>
                                </div>
                            }.into_any(),
                            None => view! {
                                <Show when=move || !templates_only()>
                                    <div class="field">
                                        <label for="composer-body">"Mensaje"</label>
                                        <textarea id="composer-body" rows="3"
                                            aria-invalid=move || errors.with(|e| e.iter().any(|e| e.field == "body")).then_some("true")
                                            prop:value=move || draft.body.get()
                                            on:input=move |ev| draft.body.set(event_target_value(&ev))></textarea>
                                        <FieldMessage errors name="body" />
                                    </div>
                                    <div class="inserts" role="group" aria-label="Insertar">
                                        <button type="button" class="secondary small" on:click=move |_| insert("{{estado_cuenta}}")>"Estado de cuenta"</button>
                                        <button type="button" class="secondary small" on:click=move |_| insert("{{link_pago}}")>"Paga aquí"</button>
                                        <select aria-label="Etiqueta" on:change=move |ev| {
                                            let v = event_target_value(&ev);
                                            if !v.is_empty() {
                                                insert(&format!("{{{{{v}}}}}"));
                                            }
                                        }>
                                            <option value="" selected=true>"Etiqueta…"</option>
                                            {TAGS.iter().map(|(t, label)| view! { <option value=*t>{*label}</option> }).collect_view()}
                                        </select>
                                        {EMOJIS.iter().map(|e| view! {
                                            <button type="button" class="emoji" aria-label=format!("Emoji {e}") on:click=move |_| insert(e)>{*e}</button>
                                        }).collect_view()}
                                    </div>
                                    <Show when=move || channel.get() == Some(Channel::Sms)>
                                        {move || {
                                            let l = sms_length(&draft.body.get());
                                            let over = l.segments > sms_max;
                                            view! {
                                                <p class="small" class:error=over aria-live="polite">
                                                    {format!("{} caracteres · {} {} (máximo {sms_max}){}", l.chars, l.segments,
                                                        if l.segments == 1 { "parte" } else { "partes" },
                                                        if l.unicode { " · con acentos o emojis cada parte lleva 70 caracteres" } else { "" })}
                                                </p>
                                            }
                                        }}
                                    </Show>
                                </Show>
                            }.into_any(),
                        }}
                        <FieldMessage errors name="attachments" />
                        <FieldMessage errors name="documents" />
                        <FieldMessage errors name="party" />
                        {feedback.view()}
                        <RecentQuestion question=recent go_ahead="Enviar de todos modos"
                            on_confirm=Callback::new(move |()| dispatch(true)) />
                        <div class="actions">
                            <button type="submit" disabled=move || send.pending().get() || blocked()
                                >{move || if send.pending().get() { "Enviando…" } else { "Enviar" }}</button>
                            <Show when=move || sandboxed.with_value(|s| s.contains(&c))>
                                <button type="button" class="secondary small"
                                    on:click=move |_| { simulate.dispatch((party.get_untracked(), c)); }
                                    >"Simular respuesta del deudor (sandbox)"</button>
                            </Show>
                        </div>
                        {move || simulate.value().get().map(|r| match r {
                            Ok(()) => view! { <p class="small" role="status">"El deudor responderá en unos segundos."</p> }.into_any(),
                            Err(error) => view! { <ErrorNotice error /> }.into_any(),
                        })}
                    }.into_any()
                }
            }}
        </form>
    }
    .into_any()
}

/// Subject, copies (with the related parties' e-mails offered, never added unasked)
/// and attachments of an e-mail.
#[component]
fn EmailFields(
    draft: Draft,
    party: Memo<PartyComposer>,
    documents: StoredValue<Vec<crate::domain::compose::ClientDocument>>,
) -> impl IntoView {
    let errors = draft.feedback.errors;
    let list_field = move |id: &'static str, label: &'static str, list: RwSignal<String>| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id type="text" placeholder="correo@ejemplo.com, otro@ejemplo.com"
                    aria-invalid=move || errors.with(|e| e.iter().any(|e| e.field == id.trim_start_matches("composer-"))).then_some("true")
                    prop:value=move || list.get() on:input=move |ev| list.set(event_target_value(&ev)) />
                <FieldMessage errors name=id.trim_start_matches("composer-") />
            </div>
        }
    };
    view! {
        <div class="field">
            <label for="composer-subject">"Asunto"</label>
            <input id="composer-subject" type="text" prop:value=move || draft.subject.get()
                aria-invalid=move || errors.with(|e| e.iter().any(|e| e.field == "subject")).then_some("true")
                on:input=move |ev| draft.subject.set(event_target_value(&ev)) />
            <FieldMessage errors name="subject" />
        </div>
        {list_field("composer-cc", "CC", draft.cc)}
        {list_field("composer-bcc", "CCO", draft.bcc)}
        {move || {
            let suggestions = party.get().copy_suggestions;
            (!suggestions.is_empty()).then(|| view! {
                <div class="suggestions" role="group" aria-label="Sugerencias de copia">
                    <span class="small">"Relacionados: "</span>
                    {suggestions.into_iter().map(|s| {
                        let email = s.email.clone();
                        let email2 = s.email.clone();
                        view! {
                            <button type="button" class="secondary small" on:click=move |_| add_to_list(draft.cc, &email)>
                                {format!("CC: {} <{}>", s.label, s.email)}
                            </button>
                            <button type="button" class="secondary small" on:click=move |_| add_to_list(draft.bcc, &email2)>
                                "CCO"
                            </button>
                        }
                    }).collect_view()}
                </div>
            })
        }}
        <div class="field">
            <label for=FILES_ID>"Adjuntar desde la computadora"</label>
            {move || {
                draft.files.get();
                view! { <input id=FILES_ID type="file" multiple=true /> }
            }}
        </div>
        {move || {
            let docs = documents.get_value();
            (!docs.is_empty()).then(|| view! {
                <fieldset class="documents">
                    <legend>"Documentos del cliente"</legend>
                    {docs.into_iter().map(|d| {
                        let r = d.reference;
                        view! {
                            <label class="inline">
                                <input type="checkbox" prop:checked=move || draft.documents.with(|ds| ds.contains(&r))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        draft.documents.update(|ds| {
                                            ds.retain(|x| *x != r);
                                            if on { ds.push(r); }
                                        });
                                    } />
                                {format!("{} ({} KB)", d.meta.file_name, (d.meta.size_bytes + 1023) / 1024)}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
            })
        }}
    }
}
