//! The weekly incident report model, built from analytics and advice.
