//! "Did you mean" suggestions.

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for cand in candidates {
        let score = strsim::jaro_winkler(&lower, &cand.to_ascii_lowercase());
        let dist = strsim::damerau_levenshtein(&lower, &cand.to_ascii_lowercase());
        let close = lower == cand.to_ascii_lowercase() || dist <= 2 || (score >= 0.88 && dist <= cand.len() / 3 + 1);
        if close && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, cand));
        }
    }
    best.map(|(_, c)| c)
}
