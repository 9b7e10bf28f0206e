//! What the names of a migration body stand for, block by block.

use std::collections::HashMap;

use proc_macro2::TokenStream;

/// What a `let` or `const` name holds, as far as the scanner knows.
#[derive(Clone)]
pub(crate) enum Binding {
    /// SQL text, and the tokens that wrote it.
    Sql(String, TokenStream),
    /// A `format!` template, and the tokens that wrote it.
    Template(String, TokenStream),
    /// A sea-query builder, by its index in the scanner's builder list.
    Builder(usize),
    /// Anything else: it hides an outer binding of the same name.
    Other,
}

/// Nested blocks' bindings: an inner `let sql` hides an outer one only inside its block.
pub(crate) struct Scopes {
    stack: Vec<HashMap<String, Binding>>,
}

impl Default for Scopes {
    fn default() -> Self {
        Scopes {
            stack: vec![HashMap::new()],
        }
    }
}

impl Scopes {
    pub(crate) fn push(&mut self) {
        self.stack.push(HashMap::new());
    }

    pub(crate) fn pop(&mut self) {
        if self.stack.len() > 1 {
            self.stack.pop();
        }
    }

    pub(crate) fn bind(&mut self, name: String, binding: Binding) {
        if let Some(top) = self.stack.last_mut() {
            top.insert(name, binding);
        }
    }

    /// The innermost binding of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Binding> {
        self.stack.iter().rev().find_map(|scope| scope.get(name))
    }
}
