//! Test support shared by the payload decoders' differential tests: the ways a payload or a
//! JSON text is damaged, written once so every decoder is held to the same inputs.

/// Every truncation of `bytes` (including empty and whole), every single-bit flip, and the
/// whole with one zero byte appended.
pub fn truncations_flips_and_extension(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    let cuts = (0..=bytes.len()).map(|cut| bytes[..cut].to_vec());
    let flips = (0..bytes.len() * 8).map(|bit| {
        let mut damaged = bytes.to_vec();
        damaged[bit / 8] ^= 1 << (bit % 8);
        damaged
    });
    let longer = std::iter::once([bytes, &[0]].concat());
    cuts.chain(flips).chain(longer)
}

/// One random edit of `text` at `i` (at most its length): insert `byte` (`how` 0), remove
/// the byte at `i` (1), or overwrite it (otherwise); past the end, removal does nothing and
/// an overwrite appends.
pub fn edit(text: &mut Vec<u8>, i: usize, byte: u8, how: u8) {
    match how {
        0 => text.insert(i, byte),
        1 if i < text.len() => {
            text.remove(i);
        }
        _ if i < text.len() => text[i] = byte,
        _ => text.push(byte),
    }
}
