//! The application root: HTML shell, routes and the signed-in layout.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Outlet, ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::hooks::use_navigate;
use leptos_router::path;

use crate::api::auth::{current_session, logout, SessionInfo};
use crate::domain::user::Role;
use crate::ui::automation::{CampaignsPage, EventsPage, FlowsPage, SegmentsPage};
use crate::ui::channels::ChannelSettingsPage;
use crate::ui::clients::detail::ClientDetailPage;
use crate::ui::clients::form::{EditClientPage, NewClientPage};
use crate::ui::clients::import::ImportPage;
use crate::ui::clients::list::ClientsPage;
use crate::ui::components::ErrorNotice;
use crate::ui::conversations::unregistered::UnregisteredPage;
use crate::ui::conversations::view::ConversationPane;
use crate::ui::conversations::{CallsLayout, InboxLayout, NoConversation};
use crate::ui::login::LoginPage;
use crate::ui::payments::PaymentsPage;
use crate::ui::policies::ContactPolicyPage;
use crate::ui::portal::PortalRoute;
use crate::ui::reports::{IndicatorsPage, InteractionsPage};
use crate::ui::templates::TemplatesPage;
use crate::ui::users::{EditUserPage, NewUserPage, UsersPage};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server::http::content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="es">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/recaudo.css" />
        <Title text="Recaudo" />
        <Router>
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/login") view=LoginPage />
                <Route path=path!("/pago/:token") view=PortalRoute />
                <ParentRoute path=path!("") view=SignedIn>
                    <Route path=path!("") view=|| view! { <Redirect path="/conversaciones" /> } />
                    <ParentRoute path=path!("conversaciones") view=InboxLayout>
                        <Route path=path!("") view=NoConversation />
                        <Route path=path!(":id") view=ConversationPane />
                    </ParentRoute>
                    <ParentRoute path=path!("llamadas") view=CallsLayout>
                        <Route path=path!("") view=NoConversation />
                        <Route path=path!(":id") view=ConversationPane />
                    </ParentRoute>
                    <Route path=path!("no-registrados") view=UnregisteredPage />
                    <Route path=path!("pagos-a-verificar") view=PaymentsPage />
                    <Route path=path!("interacciones") view=InteractionsPage />
                    <Route path=path!("indicadores") view=IndicatorsPage />
                    <Route path=path!("clientes") view=ClientsPage />
                    <Route path=path!("clientes/nuevo") view=NewClientPage />
                    <Route path=path!("clientes/importar") view=ImportPage />
                    <Route path=path!("clientes/:id") view=ClientDetailPage />
                    <Route path=path!("clientes/:id/editar") view=EditClientPage />
                    <Route path=path!("estrategias/plantillas") view=TemplatesPage />
                    <Route path=path!("estrategias/segmentos") view=SegmentsPage />
                    <Route path=path!("estrategias/flujos") view=FlowsPage />
                    <Route path=path!("estrategias/eventos") view=EventsPage />
                    <Route path=path!("estrategias/campanas") view=CampaignsPage />
                    <Route path=path!("ajustes/canales") view=ChannelSettingsPage />
                    <Route path=path!("ajustes/politica-de-contacto") view=ContactPolicyPage />
                    <Route path=path!("usuarios") view=UsersPage />
                    <Route path=path!("usuarios/nuevo") view=NewUserPage />
                    <Route path=path!("usuarios/:id") view=EditUserPage />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="page narrow">
            <h1>"Página no encontrada"</h1>
            <p><a href="/clientes">"Ir a Clientes"</a></p>
        </main>
    }
}

/// The layout of every page behind the login: it loads the session once and hands it to
/// the pages as context, with the changes heard on the user's event stream.
#[component]
fn SignedIn() -> impl IntoView {
    let session = Resource::new(|| (), |_| current_session());
    crate::ui::live::provide_live_changes();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Cargando…"</p> }>
            {move || Suspend::new(async move {
                match session.await {
                    Ok(info) => {
                        provide_context(info.clone());
                        view! {
                            <Nav info />
                            <main class="page"><Outlet /></main>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <main class="page narrow"><ErrorNotice error /></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Nav(info: SessionInfo) -> impl IntoView {
    let is_admin = info.viewer.role == Role::Admin;
    let navigate = use_navigate();
    let leave = Action::new(|_: &()| logout());
    Effect::new(move |_| {
        if let Some(Ok(())) = leave.value().get() {
            navigate("/login", Default::default());
        }
    });
    view! {
        <header class="topbar">
            <a class="brand" href="/conversaciones">"Recaudo"</a>
            <nav aria-label="Principal">
                <a href="/conversaciones">"Conversaciones"</a>
                <a href="/clientes">"Clientes"</a>
                <a href="/pagos-a-verificar">"Pagos a verificar"</a>
                <a href="/interacciones">"Interacciones"</a>
                <a href="/indicadores">"Indicadores"</a>
                <a href="/estrategias/plantillas">"Plantillas"</a>
                <Show when=move || is_admin>
                    <a href="/estrategias/flujos">"Estrategias"</a>
                    <a href="/clientes/importar">"Importar cartera"</a>
                    <a href="/usuarios">"Usuarios"</a>
                    <a href="/ajustes/canales">"Canales"</a>
                    <a href="/ajustes/politica-de-contacto">"Política de contacto"</a>
                </Show>
            </nav>
            <div class="who">
                <span>{info.viewer.name.clone()}" · "{info.viewer.role.label()}</span>
                <button type="button" class="link" on:click=move |_| { leave.dispatch(()); }>"Salir"</button>
            </div>
        </header>
    }
}
