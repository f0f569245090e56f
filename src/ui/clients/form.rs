use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use crate::api::clients::{list_assignees, save_client};
use crate::domain::client::{ClientInput, ContactsInput, DebtInput, PartyRole};
use crate::domain::contact::ContactKind;
use crate::domain::error::FieldError;
use crate::domain::geo;
use crate::domain::message::Channel;
use crate::domain::user::{Assignee, Role};
use crate::ui::clients::detail::client_from_route;
use crate::ui::components::{ErrorNotice, FormFeedback, SelectField, TextField};
use crate::ui::use_session;

#[component]
pub fn NewClientPage() -> impl IntoView {
    let assignees = Resource::new(|| (), |_| list_assignees());
    view! {
        <Title text="Nuevo cliente · Recaudo" />
        <h1>"Nuevo cliente"</h1>
        <Transition fallback=|| view! { <p class="loading">"Cargando asesores…"</p> }>
            {move || Suspend::new(async move {
                let assignees = assignees.await.unwrap_or_default();
                view! { <ClientForm id=None initial=ClientInput::blank() assignees /> }
            })}
        </Transition>
    }
}

#[component]
pub fn EditClientPage() -> impl IntoView {
    let (_, client) = client_from_route();
    // Read beside the client, not in a suspense nested in the form: a resource created
    // while a suspended view renders is not found again when the page hydrates.
    let assignees = Resource::new(|| (), |_| list_assignees());
    view! {
        <Title text="Editar cliente · Recaudo" />
        <Transition fallback=|| view! { <p class="loading">"Cargando cliente…"</p> }>
            {move || Suspend::new(async move {
                let (client, assignees) = (client.await, assignees.await.unwrap_or_default());
                match client {
                    Ok(c) => view! {
                        <h1>"Editar: "{c.display_name.clone()}</h1>
                        <ClientForm id=Some(c.id) initial=c.to_input() assignees />
                    }.into_any(),
                    Err(error) => view! { <h1>"Editar cliente"</h1><ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The contacts of the client (`None`) or of one related party slot.
fn contacts(c: &ClientInput, party: Option<usize>) -> &ContactsInput {
    match party {
        None => &c.contacts,
        Some(i) => &c.related[i].contacts,
    }
}

fn contacts_mut(c: &mut ClientInput, party: Option<usize>) -> &mut ContactsInput {
    match party {
        None => &mut c.contacts,
        Some(i) => &mut c.related[i].contacts,
    }
}

fn values(c: &ContactsInput, kind: ContactKind) -> &Vec<String> {
    c.lists(kind).0
}

fn values_mut(c: &mut ContactsInput, kind: ContactKind) -> &mut Vec<String> {
    c.lists_mut(kind).0
}

fn list_key(kind: ContactKind) -> &'static str {
    match kind {
        ContactKind::Phone => "phones",
        ContactKind::Email => "emails",
        ContactKind::WhatsApp => "whatsapps",
    }
}

/// A text field bound to one `String` inside the form's input.
fn bind(
    input: RwSignal<ClientInput>,
    get: fn(&ClientInput) -> &String,
    set: fn(&mut ClientInput, String),
) -> (Signal<String>, Callback<String>) {
    (
        Signal::derive(move || input.with(|c| get(c).clone())),
        Callback::new(move |v| input.update(|c| set(c, v))),
    )
}

#[component]
fn ValueList(
    input: RwSignal<ClientInput>,
    errors: RwSignal<Vec<FieldError>>,
    party: Option<usize>,
    kind: ContactKind,
    #[prop(into)] prefix: String,
) -> impl IntoView {
    let len = Memo::new(move |_| input.with(|c| values(contacts(c, party), kind).len()));
    let label = kind.label();
    let list_name = format!("{prefix}{}", list_key(kind));
    let item_prefix = list_name.clone();
    let add_label = match kind {
        ContactKind::Phone => "Añadir teléfono",
        ContactKind::Email => "Añadir correo",
        ContactKind::WhatsApp => "Añadir WhatsApp",
    };
    view! {
        <div class="value-list">
            {move || (0..len.get()).map(|i| {
                let item_prefix = item_prefix.clone();
                let value = Signal::derive(move || input.with(|c| values(contacts(c, party), kind).get(i).cloned().unwrap_or_default()));
                let on_input = Callback::new(move |v: String| input.update(|c| {
                    if let Some(x) = values_mut(contacts_mut(c, party), kind).get_mut(i) {
                        *x = v;
                    }
                }));
                let item_label = format!("{label} {}", i + 1);
                view! {
                    <div class="value-row">
                        <TextField label=item_label.clone() name=format!("{item_prefix}.{i}") value on_input errors
                            input_type=if kind == ContactKind::Email { "email" } else { "tel" } />
                        <Consent input party kind index=i item_label=item_label.clone() />
                        <button type="button" class="link" aria-label=format!("Quitar {item_label}")
                            on:click=move |_| input.update(|c| {
                                let (list, withheld) = contacts_mut(c, party).lists_mut(kind);
                                if i < list.len() {
                                    list.remove(i);
                                }
                                if i < withheld.len() {
                                    withheld.remove(i);
                                }
                            })>"Quitar"</button>
                    </div>
                }
            }).collect_view()}
            <crate::ui::components::FieldMessage errors name=list_name.clone() />
            <button type="button" class="secondary small"
                on:click=move |_| input.update(|c| values_mut(contacts_mut(c, party), kind).push(String::new()))>
                {add_label}
            </button>
        </div>
    }
}

/// The channels the debtor authorised on one contact point (Ley 2300, art. 3), ticked
/// by default: unticking one withholds it, and no contact leaves on it.
#[component]
fn Consent(
    input: RwSignal<ClientInput>,
    party: Option<usize>,
    kind: ContactKind,
    index: usize,
    item_label: String,
) -> impl IntoView {
    view! {
        <span class="consent" role="group" aria-label=format!("Canales autorizados de {item_label}")>
            {kind.authorisable().iter().copied().map(|channel| {
                let authorised = move || input.with(|c| {
                    let (_, withheld) = contacts(c, party).lists(kind);
                    !withheld.get(index).is_some_and(|w| w.contains(&channel))
                });
                let toggle = move |ev: leptos::ev::Event| {
                    let on = event_target_checked(&ev);
                    input.update(|c| {
                        let (_, withheld) = contacts_mut(c, party).lists_mut(kind);
                        if withheld.len() <= index {
                            withheld.resize(index + 1, Vec::new());
                        }
                        withheld[index].retain(|w| *w != channel);
                        if !on {
                            withheld[index].push(channel);
                        }
                    });
                };
                view! {
                    <label class="check">
                        <input type="checkbox" prop:checked=authorised on:change=toggle />
                        {channel_word(channel)}
                    </label>
                }
            }).collect_view()}
        </span>
    }
}

/// The channel's short name beside a contact point.
fn channel_word(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "Correo",
        other => other.label(),
    }
}

#[component]
fn ContactsEditor(
    input: RwSignal<ClientInput>,
    errors: RwSignal<Vec<FieldError>>,
    party: Option<usize>,
    #[prop(into)] prefix: String,
) -> impl IntoView {
    view! {
        <div class="contacts-editor">
            {ContactKind::ALL.iter().copied().map(|kind| view! {
                <ValueList input errors party kind prefix=prefix.clone() />
            }.into_any()).collect_view()}
        </div>
    }
}

#[component]
fn RelatedEditor(
    input: RwSignal<ClientInput>,
    errors: RwSignal<Vec<FieldError>>,
    party: usize,
) -> impl IntoView {
    let (title, prefix) = input.with_untracked(|c| {
        let r = &c.related[party];
        let role = PartyRole::try_from(r.role.clone()).map_or("Parte", |role| role.label());
        (format!("{role} {}", r.ordinal), r.field_prefix())
    });
    let name = Signal::derive(move || input.with(|c| c.related[party].name.clone()));
    let set_name = Callback::new(move |v| input.update(|c| c.related[party].name = v));
    let relationship =
        Signal::derive(move || input.with(|c| c.related[party].relationship.clone()));
    let set_relationship =
        Callback::new(move |v| input.update(|c| c.related[party].relationship = v));
    view! {
        <fieldset class="related">
            <legend>{title}</legend>
            <div class="grid">
                <TextField label="Nombre" name=format!("{prefix}.name") value=name on_input=set_name errors />
                <TextField label="Relación" name=format!("{prefix}.relationship") value=relationship on_input=set_relationship errors />
            </div>
            <crate::ui::components::FieldMessage errors name=prefix.clone() />
            <ContactsEditor input errors party=Some(party) prefix=format!("{prefix}.") />
        </fieldset>
    }
}

#[component]
fn DebtEditor(
    input: RwSignal<ClientInput>,
    errors: RwSignal<Vec<FieldError>>,
    index: usize,
) -> impl IntoView {
    let field = move |get: fn(&DebtInput) -> &String, set: fn(&mut DebtInput, String)| {
        (
            Signal::derive(move || {
                input.with(|c| {
                    c.debts
                        .get(index)
                        .map(|d| get(d).clone())
                        .unwrap_or_default()
                })
            }),
            Callback::new(move |v| {
                input.update(|c| {
                    if let Some(d) = c.debts.get_mut(index) {
                        set(d, v);
                    }
                })
            }),
        )
    };
    let name = |f: &str| format!("debts.{index}.{f}");
    let (number, set_number) = field(|d| &d.number, |d, v| d.number = v);
    let (product, set_product) = field(|d| &d.product, |d, v| d.product = v);
    let (issue, set_issue) = field(|d| &d.issue_date, |d, v| d.issue_date = v);
    let (due, set_due) = field(|d| &d.due_date, |d, v| d.due_date = v);
    let (amount, set_amount) = field(|d| &d.amount, |d, v| d.amount = v);
    let (paid, set_paid) = field(|d| &d.paid, |d, v| d.paid = v);
    let (currency, set_currency) = field(|d| &d.currency, |d, v| d.currency = v);
    let currencies = Signal::derive(|| {
        geo::CURRENCIES
            .iter()
            .map(|c| (c.to_string(), c.to_string()))
            .collect::<Vec<_>>()
    });
    view! {
        <fieldset class="debt">
            <legend>{format!("Deuda {}", index + 1)}</legend>
            <div class="grid">
                <TextField label="Número de orden" name=name("number") value=number on_input=set_number errors required=true />
                <TextField label="Producto" name=name("product") value=product on_input=set_product errors />
                <TextField label="Fecha de emisión" name=name("issue_date") value=issue on_input=set_issue errors input_type="date" required=true />
                <TextField label="Fecha de vencimiento" name=name("due_date") value=due on_input=set_due errors input_type="date" required=true />
                <TextField label="Monto" name=name("amount") value=amount on_input=set_amount errors required=true />
                <TextField label="Pagado" name=name("paid") value=paid on_input=set_paid errors />
                <SelectField label="Moneda" name=name("currency") value=currency on_change=set_currency errors options=currencies />
            </div>
            <button type="button" class="link" aria-label=format!("Quitar deuda {}", index + 1)
                on:click=move |_| input.update(|c| {
                    if index < c.debts.len() {
                        c.debts.remove(index);
                    }
                })>"Quitar deuda"</button>
        </fieldset>
    }
}

#[component]
fn ClientForm(id: Option<i64>, initial: ClientInput, assignees: Vec<Assignee>) -> impl IntoView {
    let viewer = use_session().viewer;
    let is_admin = viewer.role == Role::Admin;
    let mut initial = initial;
    if initial.advisor_id.is_none() && !is_admin && id.is_none() {
        initial.advisor_id = Some(viewer.user_id);
    }
    let input = RwSignal::new(initial);
    let feedback = FormFeedback::default();
    let errors = feedback.errors;
    let save = Action::new(move |(id, input): &(Option<i64>, ClientInput)| {
        let (id, input) = (*id, input.clone());
        async move { save_client(id, input).await }
    });
    let navigate = use_navigate();
    Effect::new(move |_| match save.value().get() {
        Some(Ok(saved)) => navigate(&format!("/clientes/{saved}"), Default::default()),
        Some(Err(error)) => feedback.failure(error),
        None => {}
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let current = input.get_untracked();
        match current.validate() {
            Ok(_) => {
                feedback.clear();
                save.dispatch((id, current));
            }
            Err(list) => feedback.fields(list),
        }
    };

    let is_person = Memo::new(move |_| input.with(|c| c.kind == "person"));
    let (document, set_document) =
        bind(input, |c| &c.document_number, |c, v| c.document_number = v);
    let (first_name, set_first_name) = bind(input, |c| &c.first_name, |c, v| c.first_name = v);
    let (last_name, set_last_name) = bind(input, |c| &c.last_name, |c, v| c.last_name = v);
    let (business, set_business) = bind(input, |c| &c.business_name, |c, v| c.business_name = v);
    let (segment, set_segment) = bind(input, |c| &c.segment, |c, v| c.segment = v);
    let (country, _) = bind(input, |c| &c.country, |c, v| c.country = v);
    let set_country = Callback::new(move |v: String| {
        input.update(|c| {
            // A new country brings its usual time zone; the advisor can still pick another.
            if let Some(found) = geo::country(&v) {
                c.time_zone = found.time_zone.to_string();
            }
            c.country = v;
        })
    });
    let (time_zone, set_time_zone) = bind(input, |c| &c.time_zone, |c, v| c.time_zone = v);
    let countries = Signal::derive(|| {
        geo::COUNTRIES
            .iter()
            .map(|c| (c.code.to_string(), c.name.to_string()))
            .collect::<Vec<_>>()
    });
    let zones = Signal::derive(|| {
        geo::TIME_ZONES
            .iter()
            .map(|z| (z.to_string(), z.replace('_', " ")))
            .collect::<Vec<_>>()
    });
    let advisor = Signal::derive(move || {
        input.with(|c| c.advisor_id.map(|a| a.to_string()).unwrap_or_default())
    });
    let set_advisor =
        Callback::new(move |v: String| input.update(|c| c.advisor_id = v.parse().ok()));
    let mut options: Vec<(String, String)> = Vec::new();
    if is_admin {
        options.push((String::new(), "Sin asignar".into()));
    }
    options.extend(
        assignees
            .into_iter()
            .map(|a| (a.id.to_string(), format!("{} ({})", a.name, a.role.label()))),
    );
    let assignee_options = Signal::derive(move || options.clone());
    let debt_count = Memo::new(move |_| input.with(|c| c.debts.len()));
    let related_count = input.with_untracked(|c| c.related.len());
    let add_debt = move |_| {
        input.update(|c| {
            let currency = c
                .debts
                .last()
                .map(|d| d.currency.clone())
                .or_else(|| geo::country(&c.country).map(|k| k.currency.to_string()))
                .unwrap_or_default();
            c.debts.push(DebtInput {
                currency,
                ..Default::default()
            });
        })
    };

    view! {
        <form class="client-form" on:submit=on_submit novalidate>
            <fieldset>
                <legend>"Tipo de cliente"</legend>
                <label class="inline">
                    <input type="radio" name="kind" value="person" prop:checked=move || is_person.get()
                        on:change=move |_| input.update(|c| c.kind = "person".into()) />
                    "Persona"
                </label>
                <label class="inline">
                    <input type="radio" name="kind" value="company" prop:checked=move || !is_person.get()
                        on:change=move |_| input.update(|c| c.kind = "company".into()) />
                    "Empresa"
                </label>
            </fieldset>
            <fieldset>
                <legend>"Datos del cliente"</legend>
                <div class="grid">
                    <TextField label="Documento" name="document_number" value=document on_input=set_document errors required=true />
                    <Show when=move || is_person.get()
                        fallback=move || view! { <TextField label="Razón social" name="business_name" value=business on_input=set_business errors required=true /> }>
                        <TextField label="Nombres" name="first_name" value=first_name on_input=set_first_name errors required=true />
                        <TextField label="Apellidos" name="last_name" value=last_name on_input=set_last_name errors required=true />
                    </Show>
                    <TextField label="Segmento" name="segment" value=segment on_input=set_segment errors />
                    <SelectField label="País" name="country" value=country on_change=set_country errors options=countries />
                    <SelectField label="Zona horaria" name="time_zone" value=time_zone on_change=set_time_zone errors options=zones />
                    <SelectField label="Asesor" name="advisor_id" value=advisor on_change=set_advisor errors options=assignee_options />
                </div>
            </fieldset>
            {view! {
                <fieldset>
                    <legend>"Contactos del cliente"</legend>
                    <ContactsEditor input errors party=None prefix="contacts." />
                </fieldset>
            }.into_any()}
            <div class="related-grid">
                {(0..related_count).map(|party| view! { <RelatedEditor input errors party /> }.into_any()).collect_view()}
            </div>
            <section class="debts-editor" aria-label="Deudas">
                <h2>"Deudas"</h2>
                {move || (0..debt_count.get()).map(|index| view! { <DebtEditor input errors index /> }).collect_view()}
                <button type="button" class="secondary" on:click=add_debt>"Añadir deuda"</button>
            </section>
            {feedback.view()}
            <div class="form-actions">
                <button type="submit" disabled=move || save.pending().get()>"Guardar cliente"</button>
                <a class="button secondary" href=id.map_or_else(|| "/clientes".to_string(), |id| format!("/clientes/{id}"))>"Cancelar"</a>
            </div>
        </form>
    }
}
