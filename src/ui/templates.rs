//! Estrategias → Plantillas: the templates the composer, flows, events and campaigns
//! send, with a live preview on a real client.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::templates::{delete_template, list_templates, preview_template, save_template};
use crate::domain::client::PartyRole;
use crate::domain::error::AppError;
use crate::domain::message::Channel;
use crate::domain::templates::{Purpose, Template, TemplateInput, TAGS, TEMPLATE_CHANNELS};
use crate::ui::components::{ErrorNotice, FieldMessage, FormFeedback};
use crate::ui::use_session;

fn blank() -> TemplateInput {
    TemplateInput {
        name: String::new(),
        channel: Channel::WhatsApp,
        recipient: PartyRole::Client,
        purpose: Purpose::Flow,
        subject: String::new(),
        body: String::new(),
        approved: false,
    }
}

fn input_of(t: &Template) -> TemplateInput {
    TemplateInput {
        name: t.name.clone(),
        channel: t.channel,
        recipient: t.recipient,
        purpose: t.purpose,
        subject: t.subject.clone(),
        body: t.body.clone(),
        approved: t.approved,
    }
}

#[component]
pub fn TemplatesPage() -> impl IntoView {
    let admin = use_session().viewer.is_admin();
    let version = RwSignal::new(0u64);
    let templates = Resource::new(move || version.get(), |_| list_templates());
    // None: the list; Some(None): a new template; Some(Some(t)): editing t.
    let editing = RwSignal::new(None::<Option<Template>>);
    let search = RwSignal::new(String::new());
    let done = Callback::new(move |()| {
        editing.set(None);
        version.update(|v| *v += 1);
    });
    view! {
        <Title text="Plantillas · Recaudo" />
        <div class="page-head">
            <h1>"Plantillas"</h1>
            <div class="actions">
                <Show when=move || admin && editing.get().is_none()>
                    <button type="button" on:click=move |_| editing.set(Some(None))>"Nueva plantilla"</button>
                </Show>
            </div>
        </div>
        {move || editing.get().map(|t| view! { <TemplateForm template=t done /> })}
        <input type="search" aria-label="Buscar plantilla" placeholder="Buscar por nombre"
            prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev)) />
        <Transition fallback=|| view! { <p class="loading">"Cargando plantillas…"</p> }>
            {move || Suspend::new(async move {
                match templates.await {
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    Ok(list) => {
                        let q = search.get().to_lowercase();
                        let list: Vec<Template> = list.into_iter().filter(|t| q.is_empty() || t.name.to_lowercase().contains(&q)).collect();
                        view! {
                            <table class="templates">
                                <caption class="visually-hidden">"Plantillas"</caption>
                                <thead><tr>
                                    <th scope="col">"Nombre"</th><th scope="col">"Canal"</th><th scope="col">"Destinatario"</th>
                                    <th scope="col">"Tipo"</th><th scope="col">"Texto"</th><th scope="col">"Acciones"</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|t| {
                                        let edit = t.clone();
                                        let id = t.id;
                                        let remove = Action::new(move |_: &()| delete_template(id));
                                        Effect::new(move |_| if let Some(Ok(())) = remove.value().get() { done.run(()) });
                                        view! {
                                            <tr>
                                                <td>{t.name.clone()}{(t.approved && matches!(t.channel, Channel::WhatsApp | Channel::WhatsAppBusiness)).then(|| view! { <span class="tag">"Aprobada"</span> })}</td>
                                                <td>{t.channel.label()}</td>
                                                <td>{t.recipient.label()}</td>
                                                <td>{t.purpose.label()}</td>
                                                <td class="small">{t.body.chars().take(90).collect::<String>()}</td>
                                                <td>
                                                    <Show when=move || admin>
                                                        <button type="button" class="link" on:click={
                                                            let edit = edit.clone();
                                                            move |_| editing.set(Some(Some(edit.clone())))
                                                        }>"Editar"</button>
                                                        " "
                                                        <button type="button" class="link" on:click=move |_| { remove.dispatch(()); }>"Eliminar"</button>
                                                    </Show>
                                                    {move || remove.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn TemplateForm(template: Option<Template>, done: Callback<()>) -> impl IntoView {
    let id = template.as_ref().map(|t| t.id);
    let input = RwSignal::new(template.as_ref().map_or_else(blank, input_of));
    let feedback = FormFeedback::default();
    let errors = feedback.errors;
    let save = Action::new(move |i: &TemplateInput| save_template(id, i.clone()));
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => done.run(()),
        Some(Err(e)) => feedback.failure(e),
        None => {}
    });
    let text = Memo::new(move |_| input.with(|i| (i.subject.clone(), i.body.clone())));
    let preview = Resource::new(
        move || text.get(),
        |(subject, body)| async move {
            if body.trim().is_empty() {
                return Ok(None);
            }
            preview_template(subject, body, None).await.map(Some)
        },
    );
    let set = move |f: fn(&mut TemplateInput, String)| {
        move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            input.update(|i| f(i, v));
        }
    };
    let insert_tag = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        if !v.is_empty() {
            input.update(|i| i.body.push_str(&format!("{{{{{v}}}}}")));
        }
    };
    let current = input.get_untracked();
    view! {
        <form class="card template-form" aria-label=if id.is_some() { "Editar plantilla" } else { "Nueva plantilla" }
            on:submit=move |ev| {
                ev.prevent_default();
                feedback.clear();
                save.dispatch(input.get_untracked());
            }>
            <div class="field">
                <label for="template-name">"Nombre"</label>
                <input id="template-name" type="text" prop:value=move || input.with(|i| i.name.clone())
                    on:input=set(|i, v| i.name = v) />
                <FieldMessage errors name="name" />
            </div>
            <div class="field-row">
                <div class="field">
                    <label for="template-channel">"Canal"</label>
                    <select id="template-channel" on:change=set(|i, v| if let Ok(c) = v.parse() { i.channel = c })>
                        {TEMPLATE_CHANNELS.iter().map(|c| view! {
                            <option value=c.as_str() selected=*c == current.channel>{c.label()}</option>
                        }).collect_view()}
                    </select>
                    <FieldMessage errors name="channel" />
                </div>
                <div class="field">
                    <label for="template-recipient">"Destinatario"</label>
                    <select id="template-recipient" on:change=set(|i, v| if let Ok(r) = v.parse() { i.recipient = r })>
                        {PartyRole::ALL.iter().map(|r| view! {
                            <option value=r.as_str() selected=*r == current.recipient>{r.label()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="template-purpose">"Tipo"</label>
                    <select id="template-purpose" on:change=set(|i, v| if let Ok(p) = v.parse() { i.purpose = p })>
                        {Purpose::ALL.iter().map(|p| view! {
                            <option value=p.as_str() selected=*p == current.purpose>{p.label()}</option>
                        }).collect_view()}
                    </select>
                </div>
            </div>
            <div class="field">
                <label for="template-subject">"Asunto (correo)"</label>
                <input id="template-subject" type="text" prop:value=move || input.with(|i| i.subject.clone())
                    on:input=set(|i, v| i.subject = v) />
                <FieldMessage errors name="subject" />
            </div>
            <div class="field">
                <label for="template-body">"Texto"</label>
                <textarea id="template-body" rows="5" prop:value=move || input.with(|i| i.body.clone())
                    on:input=set(|i, v| i.body = v)></textarea>
                <FieldMessage errors name="body" />
                <select aria-label="Insertar etiqueta" on:change=insert_tag>
                    <option value="" selected=true>"Insertar etiqueta…"</option>
                    {TAGS.iter().map(|(t, label)| view! { <option value=*t>{format!("{label} — {{{{{t}}}}}")}</option> }).collect_view()}
                </select>
            </div>
            <label class="inline">
                <input type="checkbox" prop:checked=move || input.with(|i| i.approved)
                    on:change=move |ev| input.update(|i| i.approved = event_target_checked(&ev)) />
                "Aprobada por WhatsApp (se puede enviar fuera de la ventana de 24 horas)"
            </label>
            <section class="preview" aria-label="Vista previa">
                <h3>"Vista previa"</h3>
                <Transition fallback=|| view! { <p class="loading">"…"</p> }>
                    {move || Suspend::new(async move {
                        match preview.await {
                            Ok(None) => view! { <p class="empty">"Escribe el texto para verlo con los datos de un cliente."</p> }.into_any(),
                            Ok(Some(p)) => view! {
                                <p class="small">{format!("Con los datos de {}", p.client_name)}</p>
                                {(!p.subject.is_empty()).then(|| view! { <p class="subject">{p.subject.clone()}</p> })}
                                <p class="preview-body">{p.body}</p>
                            }.into_any(),
                            Err(AppError::Invalid(list)) => view! {
                                <ul class="notice error">{list.into_iter().map(|e| view! { <li>{e.message}</li> }).collect_view()}</ul>
                            }.into_any(),
                            Err(error) => view! { <ErrorNotice error /> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
            {feedback.view()}
            <div class="actions">
                <button type="submit" disabled=move || save.pending().get()>"Guardar plantilla"</button>
                <button type="button" class="secondary" on:click=move |_| done.run(())>"Cancelar"</button>
            </div>
        </form>
    }
}
