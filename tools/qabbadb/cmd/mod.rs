//! One module per subcommand.

pub mod build;
pub mod demo;
pub mod export;
pub mod info;
pub mod query;
