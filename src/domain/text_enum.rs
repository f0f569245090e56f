//! Enums stored as text and shown in Spanish: each variant's database name and label are
//! declared once, next to the variant.

/// Declares an enum with `ALL`, `as_str` (its stored name), `label` (its Spanish name),
/// `FromStr` and `TryFrom<String>` (which sqlx rows use to decode it).
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident => ($stored:literal, $label:literal)),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $stored),+
                }
            }

            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| format!("{} desconocido: «{s}»", stringify!($name)))
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                s.parse()
            }
        }
    };
}

#[cfg(test)]
mod tests {
    text_enum! {
        pub enum Fruit {
            Apple => ("apple", "Manzana"),
            Pear => ("pear", "Pera"),
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for f in Fruit::ALL {
            assert_eq!(f.as_str().parse::<Fruit>(), Ok(*f));
            assert_eq!(Fruit::try_from(f.as_str().to_string()), Ok(*f));
        }
        assert_eq!(Fruit::Pear.label(), "Pera");
        assert!("banana".parse::<Fruit>().unwrap_err().contains("«banana»"));
    }
}
