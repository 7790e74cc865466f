//! Trachios' business core: users, orders, the order state machine, the ports the
//! adapters implement and the use-case services written against them.
#![deny(unsafe_code)]

pub mod error;
pub mod input;
pub mod order;
pub mod ports;
pub mod services;
pub mod user;

pub use error::DomainError;
pub use input::{Email, ItemDescription, Name, OrderId, Password};
pub use order::{Actor, NewOrder, Order, OrderStatus, StatusChange};
pub use user::{Caller, NewUser, PasswordHash, Role, User, UserCredentials};
