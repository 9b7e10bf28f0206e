//! Checking that `#[migration]` is on a function it can call.

use crate::ctxt::Ctxt;
use syn::{FnArg, ItemFn, ReturnType, Type};

const SHAPE: &str = "write `async fn name(m: &mut Migration<'_>) -> Result<()>`";

pub(crate) fn check_signature(cx: &Ctxt, function: &ItemFn) {
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        cx.error_at(
            sig.fn_token,
            format!("#[migration] functions must be async; {SHAPE}"),
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        cx.error_at(
            &sig.generics,
            format!("#[migration] functions cannot be generic; {SHAPE}"),
        );
    }
    if let Some(unsafety) = sig.unsafety {
        cx.error_at(
            unsafety,
            format!("#[migration] functions cannot be unsafe; {SHAPE}"),
        );
    }
    if let Some(abi) = &sig.abi {
        cx.error_at(
            abi,
            format!("#[migration] functions cannot have an ABI; {SHAPE}"),
        );
    }
    if let Some(variadic) = &sig.variadic {
        cx.error_at(
            variadic,
            format!("#[migration] functions take one argument; {SHAPE}"),
        );
    }
    match sig.inputs.len() {
        1 => check_argument(cx, &sig.inputs[0]),
        0 => cx.error_at(
            &sig.ident,
            format!(
                "#[migration] function `{}` takes no argument; {SHAPE}",
                sig.ident
            ),
        ),
        _ => cx.error_at(
            &sig.inputs,
            format!("#[migration] functions take exactly one argument; {SHAPE}"),
        ),
    }
    if let ReturnType::Default = sig.output {
        cx.error_at(
            &sig.ident,
            format!(
                "#[migration] function `{}` must return `Result<()>`; {SHAPE}",
                sig.ident
            ),
        );
    }
}

fn check_argument(cx: &Ctxt, argument: &FnArg) {
    match argument {
        FnArg::Receiver(receiver) => cx.error_at(
            receiver,
            format!("#[migration] functions are free functions, not methods; {SHAPE}"),
        ),
        FnArg::Typed(typed) => {
            let ok = match &*typed.ty {
                Type::Reference(reference) if reference.mutability.is_some() => {
                    match &*reference.elem {
                        Type::Path(path) => path
                            .path
                            .segments
                            .last()
                            .is_some_and(|s| s.ident == "Migration"),
                        _ => false,
                    }
                }
                _ => false,
            };
            if !ok {
                cx.error_at(&typed.ty, format!("the argument of a #[migration] function must be `&mut Migration<'_>`; {SHAPE}"));
            }
        }
    }
}
