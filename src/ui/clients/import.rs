use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::clients::import_portfolio;
use crate::domain::error::AppError;
use crate::domain::import::{template_headers, ImportSummary, MULTI_VALUE_SEPARATOR};
use crate::ui::components::ErrorNotice;

/// The text of the file chosen in the input with this id.
#[cfg(feature = "hydrate")]
async fn read_chosen_file(input_id: &str) -> Result<String, String> {
    use wasm_bindgen::JsCast;
    let input = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(input_id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
        .ok_or("No se encontró el selector de archivo.")?;
    let file = input
        .files()
        .and_then(|f| f.get(0))
        .ok_or("Elige un archivo CSV.")?;
    if file.size() > 30.0 * 1024.0 * 1024.0 {
        return Err("El archivo supera los 30 MB; divídelo en partes.".into());
    }
    let text = wasm_bindgen_futures::JsFuture::from(file.text())
        .await
        .map_err(|_| "No se pudo leer el archivo.".to_string())?;
    text.as_string()
        .ok_or_else(|| "No se pudo leer el archivo.".to_string())
}

#[cfg(not(feature = "hydrate"))]
async fn read_chosen_file(_input_id: &str) -> Result<String, String> {
    Err("La importación se hace desde el navegador.".into())
}

#[component]
pub fn ImportPage() -> impl IntoView {
    // Reading the file is a browser future, which is not Send.
    let import = Action::new_local(|_: &()| async move {
        let text = read_chosen_file("portfolio-file")
            .await
            .map_err(|m| AppError::invalid("file", m))?;
        import_portfolio(text).await
    });
    let columns = template_headers().join(" · ");
    view! {
        <Title text="Importar cartera · Recaudo" />
        <h1>"Importar cartera"</h1>
        <section class="card">
            <p>
                "Sube un archivo CSV (separado por punto y coma, coma o tabulación, en UTF-8) con una fila por deuda. "
                "Las filas con el mismo documento son un mismo cliente. Se valida el archivo completo: si hay errores, "
                "no se importa nada y se listan por fila y columna. Volver a importar el mismo archivo actualiza los clientes, no los duplica."
            </p>
            <p>
                "Varios teléfonos o correos en una celda se separan con «"{MULTI_VALUE_SEPARATOR.to_string()}"». "
                "En «Asesor ID» va el ID o el correo del asesor. "
                <a href="/plantilla-cartera.csv" download="plantilla-cartera.csv">"Descargar plantilla"</a>
            </p>
            <details>
                <summary>"Columnas reconocidas"</summary>
                <p class="muted">{columns}</p>
            </details>
            <form class="toolbar" on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                import.dispatch(());
            }>
                <div class="field grow">
                    <label for="portfolio-file">"Archivo CSV"</label>
                    <input id="portfolio-file" type="file" accept=".csv,.txt,text/csv" />
                </div>
                <button type="submit" disabled=move || import.pending().get()>
                    {move || if import.pending().get() { "Importando…" } else { "Validar e importar" }}
                </button>
            </form>
        </section>
        {move || import.value().get().map(|result| match result {
            Ok(summary) => view! { <Summary summary /> }.into_any(),
            Err(AppError::InvalidFile(errors, total)) => view! {
                <section class="card">
                    <p class="notice error" role="alert">{AppError::InvalidFile(errors.clone(), total).to_string()}</p>
                    <table class="import-errors">
                        <caption>"Errores del archivo"</caption>
                        <thead><tr><th scope="col">"Fila"</th><th scope="col">"Columna"</th><th scope="col">"Error"</th></tr></thead>
                        <tbody>
                            {errors.into_iter().map(|e| view! {
                                <tr><td>{e.row}</td><td>{e.column}</td><td>{e.message}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </section>
            }.into_any(),
            Err(error) => view! { <ErrorNotice error /> }.into_any(),
        })}
    }
}

#[component]
fn Summary(summary: ImportSummary) -> impl IntoView {
    view! {
        <section class="card">
            <p class="notice ok" role="status">
                {format!(
                    "Importación completa: {} filas, {} clientes nuevos, {} actualizados, {} deudas.",
                    summary.rows, summary.created, summary.updated, summary.debts
                )}
            </p>
            <p><a href="/clientes">"Ver clientes"</a></p>
        </section>
    }
}
