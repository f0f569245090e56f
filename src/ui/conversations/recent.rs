//! The collision guard's question in a form: another user attended this client a
//! moment ago; the user reads what they did and goes ahead or not.

use leptos::prelude::*;

/// The question, when the server asked it, with the button that answers it.
#[component]
pub fn RecentQuestion(
    question: RwSignal<Option<String>>,
    go_ahead: &'static str,
    on_confirm: Callback<()>,
) -> impl IntoView {
    move || {
        question.get().map(|q| {
            view! {
                <div class="notice policy recent" role="alert">
                    <p>{q}</p>
                    <div class="actions">
                        <button type="button" on:click=move |_| {
                            question.set(None);
                            on_confirm.run(());
                        }>{go_ahead}</button>
                        <button type="button" class="secondary" on:click=move |_| question.set(None)>
                            "Cancelar"
                        </button>
                    </div>
                </div>
            }
        })
    }
}
