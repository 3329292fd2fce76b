//! Encoding options: the Debezium and `JsonConverter` properties that
//! change what the encoder writes, parsed once into [`EncodingOptions`].
//!
//! Owns the option enums (each knows its property name and valid values,
//! so an unknown value is refused naming the property), their defaults
//! (Debezium's and `JsonConverter`'s) and [`EncodingOptions::from_properties`].
//! What each option does to the output lives where the output is made
//! (`value`, `name_adjustment`, `topic_naming`, `column_mappers`).

use std::fmt;
use std::str::FromStr;

use super::{ColumnMappers, TopicNaming};

/// An unknown value for an encoding option.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid value '{value}' for {option}; valid values: {valid}")]
pub struct OptionError {
    pub option: &'static str,
    pub value: String,
    pub valid: &'static str,
}

macro_rules! option_enum {
    ($(#[$meta:meta])* $name:ident, $option:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// The Debezium configuration property this option comes from.
            pub const PROPERTY: &'static str = $option;
            /// The valid values, as written in configuration.
            pub const VALID: &'static str = concat!($($text, ", "),+);

            /// The configuration spelling of this value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = OptionError;
            fn from_str(s: &str) -> Result<Self, OptionError> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(OptionError {
                        option: $option,
                        value: s.to_owned(),
                        valid: Self::VALID.trim_end_matches(", "),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

option_enum!(
    /// `decimal.handling.mode`: DECIMAL as Connect `Decimal` bytes, as a
    /// double, or as a plain string.
    DecimalHandlingMode, "decimal.handling.mode", { Precise => "precise", Double => "double", String => "string" }
);
option_enum!(
    /// `time.precision.mode` (the MySQL connectors accept only these two).
    TimePrecisionMode, "time.precision.mode", {
        AdaptiveTimeMicroseconds => "adaptive_time_microseconds", Connect => "connect"
    }
);
option_enum!(
    /// `bigint.unsigned.handling.mode`.
    BigintUnsignedHandlingMode, "bigint.unsigned.handling.mode", { Long => "long", Precise => "precise" }
);
option_enum!(
    /// `binary.handling.mode`.
    BinaryHandlingMode, "binary.handling.mode", {
        Bytes => "bytes", Base64 => "base64", Base64UrlSafe => "base64-url-safe", Hex => "hex"
    }
);

option_enum!(
    /// `schema.name.adjustment.mode`: how the record schema names
    /// (`<topic>.Key`, `.Value`, `.Envelope`) are made valid Avro names.
    SchemaNameAdjustmentMode, "schema.name.adjustment.mode", {
        None => "none", Avro => "avro", AvroUnicode => "avro_unicode"
    }
);
option_enum!(
    /// `field.name.adjustment.mode`: how the field names of the row
    /// structs (the column names) are made valid Avro names.
    FieldNameAdjustmentMode, "field.name.adjustment.mode", {
        None => "none", Avro => "avro", AvroUnicode => "avro_unicode"
    }
);

/// How events are encoded; Debezium's defaults via [`Default`].
///
/// `JsonConverter`'s `replace.null.with.default` is not an option: it is
/// always its default, `true` (a null in a field whose schema has a
/// default is written as the default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodingOptions {
    /// `decimal.handling.mode`.
    pub decimal: DecimalHandlingMode,
    /// `time.precision.mode`.
    pub time_precision: TimePrecisionMode,
    /// `bigint.unsigned.handling.mode`.
    pub bigint_unsigned: BigintUnsignedHandlingMode,
    /// `binary.handling.mode`.
    pub binary: BinaryHandlingMode,
    /// `key.converter.schemas.enable`: wrap keys as `{"schema","payload"}`.
    pub key_schemas_enable: bool,
    /// `value.converter.schemas.enable`: wrap values likewise.
    pub value_schemas_enable: bool,
    /// `topic.naming.strategy` and `topic.delimiter`: topic and record
    /// schema names.
    pub topic_naming: TopicNaming,
    /// `column.truncate.*` and `column.mask.*`.
    pub column_mappers: ColumnMappers,
    /// `schema.name.adjustment.mode`.
    pub schema_name_adjustment: SchemaNameAdjustmentMode,
    /// `field.name.adjustment.mode`.
    pub field_name_adjustment: FieldNameAdjustmentMode,
    /// Not a property: set by the owner of a connector with transforms.
    /// Data-change keys and values are then written payload-only and
    /// each record carries the encoder's schemas by reference
    /// ([`crate::source::Record::schemas`]), so the transform chain reads
    /// them without parsing or comparing schema JSON per record.
    pub schemas_by_reference: bool,
}

impl Default for EncodingOptions {
    fn default() -> Self {
        EncodingOptions {
            decimal: DecimalHandlingMode::Precise,
            time_precision: TimePrecisionMode::AdaptiveTimeMicroseconds,
            bigint_unsigned: BigintUnsignedHandlingMode::Long,
            binary: BinaryHandlingMode::Bytes,
            key_schemas_enable: true,
            value_schemas_enable: true,
            topic_naming: TopicNaming::default(),
            column_mappers: ColumnMappers::default(),
            schema_name_adjustment: SchemaNameAdjustmentMode::None,
            field_name_adjustment: FieldNameAdjustmentMode::None,
            schemas_by_reference: false,
        }
    }
}

impl EncodingOptions {
    /// Reads the options from Debezium connector properties; absent keys
    /// keep their defaults. Boolean properties accept `true`/`false`.
    pub fn from_properties<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<EncodingOptions, OptionError> {
        let mut o = EncodingOptions::default();
        if let Some(v) = get(DecimalHandlingMode::PROPERTY) {
            o.decimal = v.parse()?;
        }
        if let Some(v) = get(TimePrecisionMode::PROPERTY) {
            o.time_precision = v.parse()?;
        }
        if let Some(v) = get(BigintUnsignedHandlingMode::PROPERTY) {
            o.bigint_unsigned = v.parse()?;
        }
        if let Some(v) = get(BinaryHandlingMode::PROPERTY) {
            o.binary = v.parse()?;
        }
        if let Some(v) = get(SchemaNameAdjustmentMode::PROPERTY) {
            o.schema_name_adjustment = v.parse()?;
        }
        if let Some(v) = get(FieldNameAdjustmentMode::PROPERTY) {
            o.field_name_adjustment = v.parse()?;
        }
        let boolean = |option: &'static str, value: &str| -> Result<bool, OptionError> {
            match value.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(OptionError {
                    option,
                    value: value.to_owned(),
                    valid: "true, false",
                }),
            }
        };
        if let Some(v) = get("key.converter.schemas.enable") {
            o.key_schemas_enable = boolean("key.converter.schemas.enable", v)?;
        }
        if let Some(v) = get("value.converter.schemas.enable") {
            o.value_schemas_enable = boolean("value.converter.schemas.enable", v)?;
        }
        Ok(o)
    }
}
