//! Small shared pieces: error notices, form fields with their messages, formatting.

use chrono::NaiveDate;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::domain::error::{AppError, FieldError};
use crate::domain::message::AttachmentInput;

pub fn fmt_date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

pub fn fmt_opt_date(d: Option<NaiveDate>) -> String {
    d.map_or_else(|| "—".to_string(), fmt_date)
}

pub fn fmt_datetime(t: chrono::NaiveDateTime) -> String {
    t.format("%d/%m/%Y %H:%M").to_string()
}

/// The `:id` route parameter, when it is a number.
pub fn id_param() -> Memo<Option<i64>> {
    let params = use_params_map();
    Memo::new(move |_| params.with(|p| p.get("id")).and_then(|id| id.parse().ok()))
}

/// An error from a server function, in words for the user.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    let login = matches!(error, AppError::Unauthenticated);
    view! {
        <div class="notice error" role="alert">
            <p>{error.to_string()}</p>
            <Show when=move || login>
                <p><a href="/login" rel="external">"Ingresar de nuevo"</a></p>
            </Show>
        </div>
    }
}

/// The DOM id of a field named with dots and brackets.
pub fn field_id(name: &str) -> String {
    name.replace(['.', '[', ']'], "-")
}

/// What a form shows after a submit: a message beside each bad field, and one line
/// above the submit button.
#[derive(Clone, Copy)]
pub struct FormFeedback {
    pub errors: RwSignal<Vec<FieldError>>,
    general: RwSignal<Option<String>>,
}

impl Default for FormFeedback {
    fn default() -> Self {
        FormFeedback {
            errors: RwSignal::new(Vec::new()),
            general: RwSignal::new(None),
        }
    }
}

impl FormFeedback {
    pub fn clear(&self) {
        self.errors.set(Vec::new());
        self.general.set(None);
    }

    /// Marks the fields; the line above the button only counts them.
    pub fn fields(&self, errors: Vec<FieldError>) {
        self.general.set(Some(match errors.len() {
            1 => "Revisa el campo marcado.".to_string(),
            n => format!("Revisa los {n} campos marcados."),
        }));
        self.errors.set(errors);
    }

    /// What the server refused, beside the fields it names or above the button.
    pub fn failure(&self, error: AppError) {
        match error {
            AppError::Invalid(errors) => self.fields(errors),
            other => self.general.set(Some(other.to_string())),
        }
    }

    pub fn view(self) -> impl IntoView {
        move || {
            self.general
                .get()
                .map(|m| view! { <p class="notice error" role="alert">{m}</p> })
        }
    }
}

pub fn message_for(errors: &[FieldError], name: &str) -> Option<String> {
    errors
        .iter()
        .find(|e| e.field == name)
        .map(|e| e.message.clone())
}

/// The message under a field, announced to screen readers.
#[component]
pub fn FieldMessage(
    errors: RwSignal<Vec<FieldError>>,
    #[prop(into)] name: String,
) -> impl IntoView {
    let id = format!("{}-error", field_id(&name));
    let message = Memo::new(move |_| errors.with(|e| message_for(e, &name)));
    view! {
        <Show when=move || message.get().is_some()>
            <p class="field-error" id=id.clone()>{move || message.get()}</p>
        </Show>
    }
}

/// A field's DOM id, the id of its message, and whether it has one: what the input needs
/// for `aria-invalid` and `aria-describedby`.
fn field_state(name: &str, errors: RwSignal<Vec<FieldError>>) -> (String, String, Memo<bool>) {
    let id = field_id(name);
    let error_id = format!("{id}-error");
    let name = name.to_string();
    let invalid = Memo::new(move |_| errors.with(|e| message_for(e, &name).is_some()));
    (id, error_id, invalid)
}

/// A labelled text input bound to a value, with its validation message beside it.
#[component]
pub fn TextField(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    #[prop(into)] value: Signal<String>,
    on_input: Callback<String>,
    errors: RwSignal<Vec<FieldError>>,
    #[prop(optional, into)] input_type: Option<String>,
    #[prop(optional, into)] autocomplete: Option<String>,
    #[prop(optional)] required: bool,
) -> impl IntoView {
    let (id, error_id, invalid) = field_state(&name, errors);
    view! {
        <div class="field">
            <label for=id.clone()>{label}{required.then_some(" *")}</label>
            <input
                id=id
                name=name.clone()
                type=input_type.unwrap_or_else(|| "text".into())
                autocomplete=autocomplete
                aria-required=required.then_some("true")
                aria-invalid=move || invalid.get().then_some("true")
                aria-describedby=move || invalid.get().then(|| error_id.clone())
                prop:value=move || value.get()
                on:input=move |ev| on_input.run(event_target_value(&ev))
            />
            <FieldMessage errors name />
        </div>
    }
}

/// A labelled select over (value, text) options.
#[component]
pub fn SelectField(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    #[prop(into)] value: Signal<String>,
    on_change: Callback<String>,
    errors: RwSignal<Vec<FieldError>>,
    #[prop(into)] options: Signal<Vec<(String, String)>>,
    #[prop(optional, into)] disabled: Signal<bool>,
) -> impl IntoView {
    let (id, error_id, invalid) = field_state(&name, errors);
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <select
                id=id
                name=name.clone()
                disabled=move || disabled.get()
                aria-invalid=move || invalid.get().then_some("true")
                aria-describedby=move || invalid.get().then(|| error_id.clone())
                on:change=move |ev| on_change.run(event_target_value(&ev))
            >
                {move || {
                    let current = value.get();
                    options
                        .get()
                        .into_iter()
                        .map(|(v, text)| {
                            let selected = v == current;
                            view! { <option value=v selected=selected>{text}</option> }
                        })
                        .collect_view()
                }}
            </select>
            <FieldMessage errors name />
        </div>
    }
}

/// The type a browser gives no type for, from the file name.
#[cfg(feature = "hydrate")]
fn guess_content_type(name: &str) -> &'static str {
    match name.to_lowercase().rsplit('.').next().unwrap_or_default() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

/// The files chosen in the file input with this id (none when it is absent), read
/// whole. The server checks their size and type.
#[cfg(feature = "hydrate")]
pub async fn read_attachments(input_id: &str) -> Result<Vec<AttachmentInput>, String> {
    use wasm_bindgen::JsCast;
    let Some(input) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(input_id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
    else {
        return Ok(Vec::new());
    };
    let Some(list) = input.files() else {
        return Ok(Vec::new());
    };
    let mut files = Vec::new();
    for i in 0..list.length() {
        let Some(file) = list.get(i) else { continue };
        let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
            .await
            .map_err(|_| format!("No se pudo leer «{}».", file.name()))?;
        let name = file.name();
        let content_type = match file.type_() {
            t if t.is_empty() => guess_content_type(&name).to_string(),
            t => t,
        };
        files.push(AttachmentInput {
            file_name: name,
            content_type,
            content: js_sys::Uint8Array::new(&buffer).to_vec(),
        });
    }
    Ok(files)
}

/// On the server there is no file input: nothing is attached.
#[cfg(not(feature = "hydrate"))]
pub async fn read_attachments(_input_id: &str) -> Result<Vec<AttachmentInput>, String> {
    Ok(Vec::new())
}

/// A report download. The browser saves it from a plain link straight to disk, so a
/// million rows never sit in the page's memory. Once the page is interactive, each
/// click adds a token to the link under which the server writes how far it has got,
/// and the page shows that: rows and size, and a percentage once the rows are counted.
#[component]
pub fn DownloadLink(href: Signal<String>, label: &'static str) -> impl IntoView {
    let progress = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let on_click = move |ev: leptos::ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            if busy.get_untracked() {
                ev.prevent_default();
                return;
            }
            let token = download_token();
            let url = href.get_untracked();
            let joiner = if url.contains('?') { '&' } else { '?' };
            if let Some(link) = ev
                .current_target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlAnchorElement>().ok())
            {
                link.set_href(&format!("{url}{joiner}descarga={token}"));
            }
            busy.set(true);
            progress.set("Preparando la descarga…".to_string());
            leptos::task::spawn_local(async move {
                let end = follow_download(&token, progress).await;
                busy.set(false);
                progress.set(end);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! {
        <span class="download">
            <a class="button secondary" href=move || href.get() rel="external" download=""
                aria-disabled=move || busy.get().then_some("true") on:click=on_click>{label}</a>
            <span class="download-progress" role="status" aria-live="polite">{move || progress.get()}</span>
        </span>
    }
}

/// 24 random letters and digits: the page's name for one download.
#[cfg(feature = "hydrate")]
fn download_token() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..24)
        .map(|_| {
            let i = (js_sys::Math::random() * ALPHABET.len() as f64) as usize;
            ALPHABET[i.min(ALPHABET.len() - 1)] as char
        })
        .collect()
}

/// Asks twice a second how far the download has got until it ends; returns what the
/// page says then.
#[cfg(feature = "hydrate")]
async fn follow_download(token: &str, progress: RwSignal<String>) -> String {
    use crate::domain::downloads::{progress_text, DownloadState};
    /// A download its server has not started by then never will.
    const START_WITHIN_MS: f64 = 30_000.0;
    let asked = js_sys::Date::now();
    loop {
        pause(500).await;
        match crate::api::reports::download_status(token.to_string()).await {
            Ok(Some(p)) if p.state == DownloadState::Running => progress.set(progress_text(&p)),
            Ok(Some(p)) => return progress_text(&p),
            Ok(None) if js_sys::Date::now() - asked > START_WITHIN_MS => {
                return "La descarga no empezó: vuelva a intentarlo.".to_string()
            }
            Ok(None) => {}
            Err(e) => return format!("No se pudo seguir la descarga: {e}"),
        }
    }
}

#[cfg(feature = "hydrate")]
async fn pause(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
