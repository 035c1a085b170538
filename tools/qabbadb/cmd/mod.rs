//! One module per subcommand.

pub mod append;
pub mod build;
pub mod compact;
pub mod delete;
pub mod demo;
pub mod export;
pub mod get;
pub mod info;
pub mod query;
pub mod sql;
pub mod verify;
