//! Ajustes de canales de comunicación: per channel, whether it is used and shown, its
//! provider and credentials (kept on the server; the page shows only their last
//! characters), and the steps to receive e-mail.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::channels::{channel_settings, probe_channel, save_channel_setting};
use crate::domain::channels::{hint, ChannelSettingInput, ChannelSettingView, ProviderKind};
use crate::domain::error::{AppError, FieldError};
use crate::domain::message::Channel;
use crate::ui::components::{ErrorNotice, FieldMessage, FormFeedback};

#[component]
pub fn ChannelSettingsPage() -> impl IntoView {
    let settings = Resource::new(|| (), |_| channel_settings());
    view! {
        <Title text="Ajustes de canales · Recaudo" />
        <h1>"Ajustes de canales de comunicación"</h1>
        <Transition fallback=|| view! { <p class="loading">"Cargando…"</p> }>
            {move || Suspend::new(async move {
                match settings.await {
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                    Ok(list) => {
                        let webhook = list.first().map(|v| v.webhook_url.clone()).unwrap_or_default();
                        view! {
                            <div class="channel-settings">
                                {list.into_iter().map(|v| view! { <ChannelCard v /> }).collect_view()}
                            </div>
                            <InboundEmailSteps webhook />
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

#[component]
fn ChannelCard(v: ChannelSettingView) -> impl IntoView {
    let channel = v.channel;
    let input = RwSignal::new(ChannelSettingInput {
        channel,
        active: v.active,
        visible: v.visible,
        provider: v.provider,
        base_url: v.base_url.clone(),
        sender: v.sender.clone(),
        secret: String::new(),
        webhook_secret: String::new(),
        inbound_url: v.inbound_url.clone(),
    });
    let feedback = FormFeedback::default();
    let errors = feedback.errors;
    let done = RwSignal::new(false);
    let save = Action::new(move |i: &ChannelSettingInput| save_channel_setting(i.clone()));
    let probe = Action::new(move |_: &()| probe_channel(channel));
    let secret_hint = RwSignal::new(v.secret_hint.clone());
    let webhook_hint = RwSignal::new(v.webhook_secret_hint.clone());
    Effect::new(move |_| match save.value().get() {
        Some(Ok(())) => {
            // The secrets just saved are now the stored ones: shown by their hint only.
            let sent = input.get_untracked();
            if !sent.secret.trim().is_empty() {
                secret_hint.set(hint(sent.secret.trim()));
            }
            if !sent.webhook_secret.trim().is_empty() {
                webhook_hint.set(hint(sent.webhook_secret.trim()));
            }
            input.update(|i| {
                i.secret.clear();
                i.webhook_secret.clear();
            });
            done.set(true);
        }
        Some(Err(e)) => feedback.failure(e),
        None => {}
    });
    let provider_id = format!("{}-provider", channel.as_str());
    // The providers reached over HTTP, which need a URL, a sender and credentials.
    let relay = move || {
        input.with(|i| {
            matches!(
                i.provider,
                Some(ProviderKind::Relay | ProviderKind::WhatsAppCloud | ProviderKind::Twilio)
            )
        })
    };
    let smtp = move || input.with(|i| i.provider == Some(ProviderKind::Smtp));
    let current = v.provider;
    view! {
        <form class="card channel-card" aria-label=channel.label() on:submit=move |ev| {
            ev.prevent_default();
            feedback.clear();
            done.set(false);
            save.dispatch(input.get_untracked());
        }>
            <h2>{channel.label()}</h2>
            <label class="inline">
                <input type="checkbox" prop:checked=move || input.with(|i| i.active)
                    on:change=move |ev| input.update(|i| i.active = event_target_checked(&ev)) />
                "Activo (se puede usar)"
            </label>
            <label class="inline">
                <input type="checkbox" prop:checked=move || input.with(|i| i.visible)
                    on:change=move |ev| input.update(|i| i.visible = event_target_checked(&ev)) />
                "Visible en el redactor"
            </label>
            <div class="field">
                <label for=provider_id.clone()>"Proveedor"</label>
                <select id=provider_id on:change=move |ev| {
                    let v = event_target_value(&ev);
                    input.update(|i| i.provider = v.parse().ok());
                }>
                    <option value="" selected=current.is_none()>"Sin configurar"</option>
                    {ProviderKind::ALL.iter().map(|p| view! {
                        <option value=p.as_str() selected=current == Some(*p)>{p.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            <Show when=relay>
                <SettingField channel name="base_url" label="URL base del proveedor" input_type="url" input errors
                    get=|i| i.base_url.clone() set=|i, v| i.base_url = v />
                <SettingField channel name="sender" label="Remitente (número, correo o nombre; en Meta, el identificador del número)" input_type="text" input errors
                    get=|i| i.sender.clone() set=|i, v| i.sender = v />
                <SettingField channel name="secret" label="Token del proveedor" input_type="password" input errors
                    placeholder=Signal::derive(move || kept(&secret_hint.get())) get=|i| i.secret.clone() set=|i, v| i.secret = v />
                <SettingField channel name="webhook_secret" label="Secreto de firma del webhook" input_type="password" input errors
                    placeholder=Signal::derive(move || kept(&webhook_hint.get())) get=|i| i.webhook_secret.clone() set=|i, v| i.webhook_secret = v />
                <p class="small">"El proveedor envía los estados y los mensajes recibidos a: "<code>{v.webhook_url.clone()}</code></p>
            </Show>
            <Show when=smtp>
                <SettingField channel name="base_url" label="Servidor SMTP (smtps://servidor:465 o smtp://servidor:587 con STARTTLS)" input_type="text" input errors
                    get=|i| i.base_url.clone() set=|i, v| i.base_url = v />
                <SettingField channel name="inbound_url" label="Buzón IMAP de respuestas y rebotes (imaps://servidor:993)" input_type="text" input errors
                    get=|i| i.inbound_url.clone() set=|i, v| i.inbound_url = v />
                <SettingField channel name="sender" label="Remitente (Cobranzas <cobranzas@empresa.com>); también es el usuario" input_type="text" input errors
                    get=|i| i.sender.clone() set=|i, v| i.sender = v />
                <SettingField channel name="secret" label="Contraseña de la cuenta de correo" input_type="password" input errors
                    placeholder=Signal::derive(move || kept(&secret_hint.get())) get=|i| i.secret.clone() set=|i, v| i.secret = v />
                <p class="small">"Otro usuario: escríbelo en la dirección, con su @ como %40 (smtps://usuario%40empresa.com@servidor). El buzón se lee cada pocos segundos; el correo leído queda en el buzón."</p>
            </Show>
            {v.meta_webhook.clone().map(|(url, token)| view! {
                <div class="meta-webhook">
                    <p class="small">"WhatsApp Cloud API (Meta) — URL de devolución de llamada: "<code>{url}</code>
                        " · Token de verificación: "<code>{token}</code></p>
                    <Show when=move || !relay()>
                        <SettingField channel name="webhook_secret" label="Secreto de la app de Meta (firma de los avisos)" input_type="password" input errors
                            placeholder=Signal::derive(move || kept(&webhook_hint.get())) get=|i| i.webhook_secret.clone() set=|i, v| i.webhook_secret = v />
                    </Show>
                </div>
            })}
            {feedback.view()}
            <Show when=move || done.get()>
                <p class="notice ok" role="status">"Guardado."</p>
            </Show>
            <div class="actions">
                <button type="submit" disabled=move || save.pending().get()>"Guardar"</button>
                <button type="button" class="secondary" title="Prueba las credenciales guardadas"
                    disabled=move || probe.pending().get()
                    on:click=move |_| { probe.dispatch(()); }>"Probar conexión"</button>
            </div>
            {move || probe.value().get().map(|r| match r {
                Ok(m) => view! { <p class="notice ok" role="status">{m}</p> }.into_any(),
                Err(AppError::Invalid(f)) => view! {
                    <p class="notice error" role="alert">{f.into_iter().map(|e| e.message).collect::<Vec<_>>().join(" ")}</p>
                }.into_any(),
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
        </form>
    }
}

/// What a secret's field says of the stored one.
fn kept(hint: &Option<String>) -> String {
    hint.as_ref().map_or_else(
        || "Sin guardar".to_string(),
        |h| format!("Guardado ({h}); vacío lo conserva"),
    )
}

/// One text field of a channel's settings.
#[component]
fn SettingField(
    channel: Channel,
    name: &'static str,
    label: &'static str,
    input_type: &'static str,
    input: RwSignal<ChannelSettingInput>,
    errors: RwSignal<Vec<FieldError>>,
    get: fn(&ChannelSettingInput) -> String,
    set: fn(&mut ChannelSettingInput, String),
    #[prop(optional, into)] placeholder: Option<Signal<String>>,
) -> impl IntoView {
    let id = format!("{}-{name}", channel.as_str());
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input id=id type=input_type autocomplete="off" placeholder=move || placeholder.map(|p| p.get())
                prop:value=move || input.with(get)
                on:input=move |ev| input.update(|i| set(i, event_target_value(&ev))) />
            <FieldMessage errors name />
        </div>
    }
}

/// Seed 002: the steps to receive e-mail live on this page.
#[component]
fn InboundEmailSteps(webhook: String) -> impl IntoView {
    let email_hook = webhook
        .rsplit_once('/')
        .map_or(webhook.clone(), |(base, _)| format!("{base}/email"));
    view! {
        <section class="card inbound-steps" aria-label="Correo entrante">
            <h2>"Correo entrante: cómo configurarlo"</h2>
            <ol>
                <li>"Con la cuenta de correo de la organización: elige en Correo electrónico «Correo SMTP + IMAP», escribe el servidor SMTP, el buzón IMAP, el remitente y la contraseña, guarda y pulsa «Probar conexión». El buzón se lee cada pocos segundos: las respuestas entran en su conversación (por sus encabezados, o por la dirección del remitente) y los rebotes marcan la dirección como «Correo no encontrado»."</li>
                <li>"Si el servidor de correo es propio (Postfix u otro), también puede entregar cada correo al programa "<code>"recaudo receive-mail"</code>" (por la entrada estándar)."</li>
                <li>"Con un proveedor HTTP: elige «Relay HTTP» y guarda su URL, su token y un secreto de firma de al menos 16 caracteres."</li>
                <li>"En tu proveedor de correo, reenvía los mensajes del buzón de cobranzas como avisos firmados (HMAC-SHA256 del cuerpo con ese secreto, en la cabecera X-Recaudo-Signature) a: "<code>{email_hook}</code></li>
                <li>"Cada aviso de tipo «message» entra en la conversación del cliente o referencia con esa dirección; si nadie la tiene, en «No registrados»."</li>
                <li>"Envía un correo de prueba al buzón y comprueba que aparece en Conversaciones."</li>
            </ol>
        </section>
    }
}
