//! Strict base64url (RFC 7515 §2): the URL-safe alphabet, no padding, no whitespace, and no
//! non-zero trailing bits, so every byte string has exactly one accepted encoding.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The input was not canonical unpadded base64url.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InvalidBase64;

/// Encodes bytes as unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Appends the unpadded base64url encoding of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(bytes, out);
}

/// Decodes unpadded base64url, refusing padding, `+`, `/`, whitespace and non-zero trailing
/// bits (the `base64` engine's `RequireNone` padding mode and its default refusal of trailing
/// bits give exactly that).
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, InvalidBase64> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| InvalidBase64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length() {
        for len in 0..70u8 {
            let bytes: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
        }
    }

    #[test]
    fn padding_is_refused() {
        assert_eq!(decode("Zm9v"), Ok(b"foo".to_vec()));
        assert!(decode("Zm8=").is_err());
        assert!(decode("Zg==").is_err());
    }

    #[test]
    fn standard_alphabet_characters_are_refused() {
        assert_eq!(decode("-_8").unwrap(), [0xfb, 0xff]);
        assert!(decode("+/8").is_err());
    }

    #[test]
    fn non_zero_trailing_bits_are_refused() {
        // "Zg" is the canonical encoding of "f"; "Zh" carries the same byte plus a set bit.
        assert_eq!(decode("Zg").unwrap(), b"f");
        assert!(decode("Zh").is_err());
    }

    #[test]
    fn whitespace_and_impossible_lengths_are_refused() {
        assert!(decode("Zm 9v").is_err());
        assert!(decode("Zm9v\n").is_err());
        assert!(decode("Z").is_err());
    }
}
