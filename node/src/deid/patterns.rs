//! Pattern detectors: phone numbers, e-mail, handles, street addresses, postcodes, exact dates
//! and identifying numbers.

use std::collections::HashSet;

use regex::{Captures, Regex};

use super::lexicon::context_section;

use super::text::{char_at, char_before};
use super::{FindingKind, Hit};

/// Builds a month alternation accepting "March", "Mar", "Mar." and "MARCH", but not "march"
/// or "may" (so that the modal verb "may" is never a date).
fn month_alt() -> String {
    const MONTHS: [(&str, &str); 12] = [
        ("Jan", "uary"),
        ("Feb", "ruary"),
        ("Mar", "ch"),
        ("Apr", "il"),
        ("May", ""),
        ("Jun", "e"),
        ("Jul", "y"),
        ("Aug", "ust"),
        ("Sep", "tember"),
        ("Oct", "ober"),
        ("Nov", "ember"),
        ("Dec", "ember"),
    ];
    let mut alts = Vec::new();
    for (short, rest) in MONTHS {
        let upper_short = short.to_uppercase();
        let upper_rest = rest.to_uppercase();
        if rest.is_empty() {
            alts.push(short.to_string());
            alts.push(upper_short);
        } else {
            alts.push(format!("{short}(?:{rest})?"));
            alts.push(format!("{upper_short}(?:{upper_rest})?"));
        }
    }
    // "Sept" is common in AU/UK writing.
    alts.push("Sept".into());
    alts.push("SEPT".into());
    format!("(?:{})", alts.join("|"))
}

pub(crate) struct Patterns {
    email: Regex,
    email_obfuscated: Regex,
    social_url: Regex,
    at_handle: Regex,
    labeled_handle: Regex,
    phone: Regex,
    ssn: Regex,
    three_three_three: Regex,
    uk_ni: Regex,
    medicare: Regex,
    long_digits: Regex,
    case_code: Regex,
    labeled_id: Regex,
    date_numeric: Regex,
    date_iso: Regex,
    date_day_month: Regex,
    date_month_day: Regex,
    dob_label: Regex,
    dob_tail: Regex,
    street: Regex,
    po_box: Regex,
    street_fr: Regex,
    address_tail: Regex,
    au_postcode: Regex,
    us_zip: Regex,
    ca_postcode: Regex,
    uk_postcode: Regex,
    labeled_postcode: Regex,
    counted_words: HashSet<String>,
    court_words: HashSet<String>,
    not_handles: HashSet<String>,
    weak_id_labels: HashSet<String>,
}

const SEP: &str = r"[\x20\u{A0}.\-]";

impl Patterns {
    pub fn new() -> Patterns {
        let month = month_alt();
        let re =
            |p: &str| Regex::new(p).unwrap_or_else(|e| panic!("bad built-in pattern {p}: {e}"));
        Patterns {
            email: re(
                r"(?-u:\b)[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?-u:\b)",
            ),
            email_obfuscated: re(
                r"(?i)(?-u:\b)[a-z0-9][a-z0-9._\-]*\x20*(?:\[at\]|\(at\)|\x20at\x20)\x20*(?:gmail|hotmail|outlook|yahoo|icloud|live|bigpond|xtra|protonmail|proton|aol|msn|optusnet|iinet|internode|tpg|westnet)\x20*(?:\.|\[dot\]|\(dot\)|\x20dot\x20)\x20*(?:com|net|org|co)(?:\x20*(?:\.|\[dot\]|\(dot\)|\x20dot\x20)\x20*(?:au|nz|uk|ca))?(?-u:\b)",
            ),
            social_url: re(
                r"(?i)(?:https?://)?(?:www\.|m\.|mobile\.|vm\.|open\.)?(?:instagram\.com|instagr\.am|facebook\.com|fb\.com|fb\.me|m\.me|tiktok\.com|twitter\.com|x\.com|snapchat\.com/add|youtube\.com|linkedin\.com/in|reddit\.com/u(?:ser)?|github\.com|threads\.net|t\.me|twitch\.tv|onlyfans\.com|pinterest\.com(?:\.au)?|tumblr\.com|soundcloud\.com|wa\.me|discord(?:app)?\.com/users|kik\.me|linktr\.ee|bsky\.app/profile|spotify\.com/user|vsco\.co|cash\.app|venmo\.com|paypal\.me)/@?[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]*)*",
            ),
            at_handle: re(
                r"(?:^|[^A-Za-z0-9_.@/])(@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?)",
            ),
            labeled_handle: re(
                r#"(?i)(?-u:\b)(?:snap(?:chat)?|insta(?:gram)?|ig|tik\x20?tok|twitter|discord|gamer\x20?tag|psn|xbox(?:\x20+live)?|steam|kik|user\x20?name|handle|fb|facebook|messenger|whatsapp|telegram|threads|youtube|twitch|roblox|fortnite)(?-u:\b)(?P<conn>(?:\x20+(?:handle|name|id|username|account|profile|tag|is|was|called|as|under))*)\x20*(?P<sep>[:=\-(]?)\x20*(?P<q>["'“‘]?)(?P<h>@?[A-Za-z0-9_][A-Za-z0-9_.\-]{1,29})"#,
            ),
            phone: re(&format!(
                r"(?x)
                (?:\+|(?-u:\b)00)[0-9]{{1,3}}{SEP}?(?:\(0\){SEP}?)?\(?[0-9]{{1,4}}\)?(?:{SEP}?[0-9]{{2,4}}){{1,4}}(?-u:\b)
                | \(0[0-9]{{1,4}}\){SEP}?[0-9]{{3,4}}{SEP}?[0-9]{{3,4}}(?-u:\b)
                | \([0-9]{{3}}\){SEP}?[0-9]{{3}}{SEP}?[0-9]{{4}}(?-u:\b)
                | (?-u:\b)1{SEP}[0-9]{{3}}{SEP}[0-9]{{3}}{SEP}[0-9]{{4}}(?-u:\b)
                | (?-u:\b)0[0-9]{{1,4}}{SEP}?[0-9]{{3,4}}{SEP}?[0-9]{{3,4}}(?-u:\b)
                | (?-u:\b)[0-9]{{3}}[.\-][0-9]{{3}}[.\-][0-9]{{4}}(?-u:\b)
                | (?-u:\b)[0-9]{{3}}\x20[0-9]{{3}}\x20[0-9]{{4}}(?-u:\b)
                | (?-u:\b)[2-9][0-9]{{3}}[\x20\-][0-9]{{4}}(?-u:\b)
                | (?-u:\b)[0-9]{{3}}-[0-9]{{4}}(?-u:\b)
                "
            )),
            ssn: re(r"(?-u:\b)[0-9]{3}(?:-[0-9]{2}-|\x20[0-9]{2}\x20)[0-9]{4}(?-u:\b)"),
            three_three_three: re(r"(?-u:\b)[0-9]{3}([\x20\-])[0-9]{3}[\x20\-][0-9]{3}(?-u:\b)"),
            uk_ni: re(
                r"(?-u:\b)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\x20?[0-9]{2}\x20?[0-9]{2}\x20?[0-9]{2}\x20?[A-D](?-u:\b)",
            ),
            medicare: re(r"(?-u:\b)[2-6][0-9]{3}\x20[0-9]{5}\x20[0-9](?:[\x20/\-]?[0-9])?(?-u:\b)"),
            long_digits: re(r"(?-u:\b)[0-9]{6,}(?-u:\b)"),
            case_code: re(
                r"(?-u:\b)(?:[A-Z]{1,5}[\-/]?[0-9]{2,}(?:[\-/][0-9A-Z]+)+|[A-Z]{2,5}[0-9]{5,}[A-Z]?|[A-Z][0-9]{6,}[A-Z]?)(?-u:\b)",
            ),
            labeled_id: re(r"(?x)
                (?-u:\b)
                (?P<label>
                  (?i:medicare|medicaid|centrelink|passport|reference|ref|licen[cs]e\x20+plate|number\x20+plate|plate
                     |rego|registration|drivers?'?\x20*licen[cs]e|driver'?s\x20+licen[cs]e|licen[cs]e|health\x20+(?:card|plan|insurance|number|id)
                     |member|insurance|policy|social\x20+security|social\x20+insurance|national\x20+insurance|tax\x20+file
                     |student|client|case|file|record|patient|customer|claim|account|incident|event|matter|docket|warrant
                     |offender|inmate|prisoner|booking|referral|court|report|job|child)
                  |MRN|CRN|URN|UR|NHI|NHS|CHI|PID|SSN|SIN|TFN|NDIS|CIN|OHIP|PHN|IRD|ABN|VIN|DL|ID|I\.D\.|UCI|PPSN|HCN|EHR|UPN|ULN
                )
                (?-u:\b)
                (?P<conn>(?:\x20*(?i:no\.?|num(?:ber)?\.?|nbr|\#|id|i\.d\.|code|card|ref(?:erence)?|file|plan|record))*)
                \x20*(?P<punct>[:\#=\-]?)\x20*(?:(?:is|was|of)\x20+)?
                (?P<id>[A-Za-z0-9]+(?:[\-/.][A-Za-z0-9]+)*(?:\x20[0-9][0-9A-Za-z]*)*)
                "),
            date_numeric: re(
                r"(?-u:\b)([0-9]{1,2})([/\-.])([0-9]{1,2})([/\-.])([0-9]{4}|[0-9]{2})(?-u:\b)",
            ),
            date_iso: re(
                r"(?-u:\b)((?:19|20)[0-9]{2})([/\-.])([0-9]{1,2})([/\-.])([0-9]{1,2})(?-u:\b)",
            ),
            date_day_month: re(&format!(
                r"(?x)(?-u:\b)(?:(?:Mon|Tues?|Wed(?:nes)?|Thu(?:rs)?|Fri|Sat(?:ur)?|Sun)(?:day)?\.?,?\x20+)?(?:the\x20+)?
                ([0-9]{{1,2}})(?:st|nd|rd|th)?(?:\x20+of)?[\x20\-]+{month}(?-u:\b)\.?(?:[\x20\-,]+(?:19|20)[0-9]{{2}}(?-u:\b))?"
            )),
            date_month_day: re(&format!(
                r"(?x)(?-u:\b){month}\.?\x20+([0-9]{{1,2}})(?:st|nd|rd|th)?(?-u:\b)(?:,?\x20+(?:19|20)[0-9]{{2}}(?-u:\b))?"
            )),
            dob_label: re(
                r"(?i)(?-u:\b)(?:d\.?\x20?o\.?\x20?b(?-u:\b)\.?|date\x20+of\x20+birth|birth\x20?date|birthday|born)(?-u:\b)?\x20*[:\-]?\x20*(?:is\x20+|was\x20+|in\x20+|on\x20+)?(?:the\x20+)?",
            ),
            dob_tail: re(&format!(
                r"^(?:[0-9]{{1,2}}[/\-.][0-9]{{1,2}}(?:[/\-.][0-9]{{2,4}})?|(?:19|20)[0-9]{{2}}[/\-.][0-9]{{1,2}}[/\-.][0-9]{{1,2}}|{month}\.?,?\x20+(?:[0-9]{{1,2}}(?:st|nd|rd|th)?(?:,?\x20+(?:19|20)[0-9]{{2}})?|(?:19|20)[0-9]{{2}})|[0-9]{{1,2}}(?:st|nd|rd|th)?\x20+(?:of\x20+)?{month}(?:,?\x20+(?:19|20)[0-9]{{2}})?)(?-u:\b)"
            )),
            street: re(r"(?x)
                (?:(?i:unit|flat|apt\.?|apartment|suite|ste\.?|lot|shop|villa|townhouse|level)\x20*[0-9]+[A-Za-z]?\x20*[,/]?\x20*)?
                (?-u:\b)(?:[0-9]{1,4}[A-Za-z]?/)?[0-9]{1,5}[A-Za-z]?(?:\x20*[\-–]\x20*[0-9]{1,5}[A-Za-z]?)?,?\x20+
                (?:
                  Broadway
                | (?:(?:[NSEW]|North|South|East|West|Upper|Lower|Old|New|Great|St\.?|Saint|Mount|Mt\.?)\x20+)?
                  (?P<words>(?:[\p{Lu}][\p{L}\p{M}'’\-]*|[0-9]{1,3}(?:st|nd|rd|th))(?:\x20+[\p{Lu}][\p{L}\p{M}'’\-]*){0,2})
                  \x20+
                  (?P<kind>(?i:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Court|Ct|Crescent|Cres|Place|Pl|Parade|Pde|Terrace|Tce|Ter
                     |Way|Close|Cl|Boulevard|Blvd|Bvd|Highway|Hwy|Grove|Gve|Circuit|Cct|Square|Sq|Esplanade|Esp|Mews|Row|Quay
                     |Wynd|Parkway|Pkwy|Circle|Cir|Trail|Gardens|Gdns|View|Vale|Promenade|Strand|Expressway|Fwy|Freeway))
                )(?-u:\b)
                "),
            // French-Canadian style: "33 rue Saint-Denis", "1200, boulevard René-Lévesque"
            street_fr: re(
                r"(?-u:\b)[0-9]{1,5}[A-Za-z]?,?\x20+(?:rue|Rue|chemin|Chemin|boulevard|Boulevard|boul\.|Boul\.|avenue|Avenue|av\.|Av\.|route|Route|rang|Rang|place|Place)\x20+(?:de\x20+la\x20+|de\x20+l'|du\x20+|des\x20+|de\x20+)?[\p{Lu}][\p{L}\p{M}'’\-]*",
            ),
            po_box: re(
                r"(?i)(?-u:\b)(?:p\.?\x20?o\.?\x20?box|post\x20+office\x20+box|gpo\x20+box|private\x20+bag|locked\x20+(?:mail\x20+)?bag|rmb|rsd|cmb|pmb)\x20*[0-9]+(?-u:\b)",
            ),
            address_tail: re(
                r"^,?\x20+(?:[\p{Lu}][\p{L}\p{M}'’\-]*\.?(?:\x20+[\p{Lu}][\p{L}\p{M}'’\-]*)*,?\x20+){0,3}?(?:(?:NSW|VIC|Vic|QLD|Qld|SA|WA|TAS|Tas|NT|ACT)\.?,?\x20+)?([0-9]{4})(?-u:\b)",
            ),
            au_postcode: re(
                r"(?-u:\b)(NSW|VIC|Vic|QLD|Qld|SA|WA|TAS|Tas|NT|ACT)\.?,?\x20+([0-9]{4})(?-u:\b)",
            ),
            us_zip: re(
                r"(?-u:\b)(?:AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY)\.?\x20+([0-9]{5}(?:-[0-9]{4})?)(?-u:\b)",
            ),
            ca_postcode: re(
                r"(?-u:\b)[ABCEGHJ-NPRSTVXY][0-9][ABCEGHJ-NPRSTV-Z]\x20?[0-9][ABCEGHJ-NPRSTV-Z][0-9](?-u:\b)",
            ),
            uk_postcode: re(
                r"(?-u:\b)(?:[A-Z]{1,2}[0-9][A-Z0-9]?|GIR)\x20?[0-9][ABD-HJLNP-UW-Z]{2}(?-u:\b)",
            ),
            labeled_postcode: re(
                r"(?i)(?-u:\b)(?:post\x20?code|postal\x20+code|zip(?:\x20?code)?|p/c)(?-u:\b)\x20*[:\#]?\x20*([A-Za-z0-9]{2,4}(?:\x20?[A-Za-z0-9]{3})?|[0-9]{4,5}(?:-[0-9]{4})?)(?-u:\b)",
            ),
            counted_words: context_section("counted_words"),
            court_words: context_section("court_words"),
            not_handles: context_section("not_handles"),
            weak_id_labels: context_section("weak_id_labels"),
        }
    }

    pub fn find(&self, text: &str, out: &mut Vec<Hit>) {
        self.contact(text, out);
        self.ids(text, out);
        self.dates(text, out);
        self.addresses(text, out);
    }

    fn contact(&self, text: &str, out: &mut Vec<Hit>) {
        for m in self.email.find_iter(text) {
            out.push(Hit::new(FindingKind::Email, m.start(), m.end(), 100));
        }
        for m in self.email_obfuscated.find_iter(text) {
            out.push(Hit::new(FindingKind::Email, m.start(), m.end(), 100));
        }
        for m in self.social_url.find_iter(text) {
            if char_before(text, m.start())
                .is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '@')
            {
                continue;
            }
            out.push(Hit::new(FindingKind::Handle, m.start(), m.end(), 95));
        }
        for c in self.at_handle.captures_iter(text) {
            let Some(h) = c.get(1) else { continue };
            let name = &h.as_str()[1..];
            if !self.handle_name_ok(name) {
                continue;
            }
            out.push(Hit::new(FindingKind::Handle, h.start(), h.end(), 95));
        }
        for c in self.labeled_handle.captures_iter(text) {
            let Some(h) = c.name("h") else { continue };
            let raw = h.as_str().trim_end_matches(['.', '-']);
            let name = raw.trim_start_matches('@');
            let strong_shape = raw.starts_with('@')
                || name
                    .chars()
                    .any(|ch| ch.is_ascii_digit() || ch == '_' || ch == '.');
            let conn = c
                .name("conn")
                .map_or("", |m| m.as_str())
                .to_ascii_lowercase();
            let named = conn.split_whitespace().any(|w| {
                matches!(
                    w,
                    "handle" | "username" | "name" | "called" | "as" | "under" | "tag"
                )
            });
            let cued = named
                || c.name("sep").is_some_and(|s| !s.as_str().is_empty())
                || c.name("q").is_some_and(|q| !q.as_str().is_empty());
            let lowercase = name.chars().all(|ch| !ch.is_uppercase());
            if !(strong_shape || (cued && lowercase)) || !self.handle_name_ok(name) {
                continue;
            }
            out.push(Hit::new(
                FindingKind::Handle,
                h.start(),
                h.start() + raw.len(),
                94,
            ));
        }
        for m in self.phone.find_iter(text) {
            if phone_ok(text, m.start(), m.end()) {
                out.push(Hit::new(FindingKind::Phone, m.start(), m.end(), 85));
            }
        }
    }

    fn ids(&self, text: &str, out: &mut Vec<Hit>) {
        // A rejected match resumes right after its label, so "Centrelink CRN: 204 123 456A"
        // still finds the CRN after "Centrelink" fails to label "CRN".
        let mut pos = 0;
        while let Some(c) = self.labeled_id.captures_at(text, pos) {
            let m = c.get(0).unwrap();
            let label = c.name("label").unwrap();
            if let Some((_, e)) = self.labeled_id_ok(&c) {
                out.push(Hit::new(FindingKind::IdNumber, label.start(), e, 92));
                pos = m.end();
            } else {
                pos = label.end();
            }
        }
        for m in self.ssn.find_iter(text) {
            if !digit_neighbours(text, m.start(), m.end()) {
                out.push(Hit::new(FindingKind::IdNumber, m.start(), m.end(), 90));
            }
        }
        for m in self.uk_ni.find_iter(text) {
            out.push(Hit::new(FindingKind::IdNumber, m.start(), m.end(), 90));
        }
        for m in self.medicare.find_iter(text) {
            if !digit_neighbours(text, m.start(), m.end()) {
                out.push(Hit::new(FindingKind::IdNumber, m.start(), m.end(), 88));
            }
        }
        for c in self.three_three_three.captures_iter(text) {
            let m = c.get(0).unwrap();
            if !digit_neighbours(text, m.start(), m.end()) {
                out.push(Hit::new(FindingKind::IdNumber, m.start(), m.end(), 84));
            }
        }
        for m in self.case_code.find_iter(text) {
            let s = m.as_str();
            let digits = s.chars().filter(char::is_ascii_digit).count();
            let prefix: String = s.chars().take_while(char::is_ascii_uppercase).collect();
            if digits < 5
                || matches!(
                    prefix.as_str(),
                    "FY" | "COVID" | "ICD" | "DSM" | "SARS" | "HB" | "SB" | "AB"
                ) && digits < 7
            {
                continue;
            }
            out.push(Hit::new(FindingKind::IdNumber, m.start(), m.end(), 86));
        }
        for m in self.long_digits.find_iter(text) {
            if char_before(text, m.start()).is_some_and(|c| c == '$' || c == '£' || c == '€') {
                continue;
            }
            if char_at(text, m.end()).is_some_and(|c| c == '%') {
                continue;
            }
            out.push(Hit::new(FindingKind::IdNumber, m.start(), m.end(), 40));
        }
    }

    fn dates(&self, text: &str, out: &mut Vec<Hit>) {
        let mut dates: Vec<(usize, usize)> = Vec::new();
        for c in self.date_numeric.captures_iter(text) {
            let m = c.get(0).unwrap();
            let (a, s1, b, s2, y) = (&c[1], &c[2], &c[3], &c[4], &c[5]);
            if s1 != s2 || (s1 == "." && y.len() != 4) {
                continue;
            }
            if char_before(text, m.start())
                .is_some_and(|ch| ch.is_ascii_digit() || matches!(ch, '/' | '.' | '-'))
                || text[m.end()..].starts_with(['/', '-'])
                || (text[m.end()..].starts_with('.')
                    && text[m.end() + 1..].starts_with(|ch: char| ch.is_ascii_digit()))
            {
                continue;
            }
            let (a, b): (u32, u32) = (a.parse().unwrap_or(99), b.parse().unwrap_or(99));
            let dm = (1..=31).contains(&a) && (1..=12).contains(&b);
            let md = (1..=12).contains(&a) && (1..=31).contains(&b);
            if dm || md {
                dates.push((m.start(), m.end()));
            }
        }
        for c in self.date_iso.captures_iter(text) {
            let m = c.get(0).unwrap();
            if c[2] != c[4] {
                continue;
            }
            let (mo, d): (u32, u32) = (c[3].parse().unwrap_or(99), c[5].parse().unwrap_or(99));
            if (1..=12).contains(&mo) && (1..=31).contains(&d) {
                dates.push((m.start(), m.end()));
            }
        }
        for c in self.date_day_month.captures_iter(text) {
            let m = c.get(0).unwrap();
            let day: u32 = c[1].parse().unwrap_or(99);
            if !(1..=31).contains(&day)
                || self.counted_thing_before(text, c.get(1).unwrap().start())
            {
                continue;
            }
            dates.push((m.start(), m.end()));
        }
        for c in self.date_month_day.captures_iter(text) {
            let m = c.get(0).unwrap();
            let day: u32 = c[1].parse().unwrap_or(99);
            if !(1..=31).contains(&day) || text[m.end()..].starts_with([':', '/']) {
                continue;
            }
            dates.push((m.start(), m.end()));
        }
        // "DOB", "date of birth", "born on ...": the label plus the date, including partial
        // dates ("DOB 14/03", "born in March 2009").
        for m in self.dob_label.find_iter(text) {
            let tail = &text[m.end()..];
            if let Some(t) = self.dob_tail.find(tail) {
                let end = m.end() + t.end();
                // A bare year after "born in" is allowed (year of birth is not an exact date).
                dates.push((m.start(), end));
                out.push(Hit::new(FindingKind::ExactDate, m.start(), end, 82));
            }
        }
        for (s, e) in dates {
            out.push(Hit::new(FindingKind::ExactDate, s, e, 80));
        }
    }

    fn addresses(&self, text: &str, out: &mut Vec<Hit>) {
        for m in self.street_fr.find_iter(text) {
            out.push(Hit::new(FindingKind::StreetAddress, m.start(), m.end(), 75));
        }
        for c in self.street.captures_iter(text) {
            let m = c.get(0).unwrap();
            if let (Some(words), Some(kind)) = (c.name("words"), c.name("kind"))
                && self.is_court_name(words.as_str(), kind.as_str())
            {
                continue;
            }
            // "aged 15 Ocean View"-style accidents: the number must not be an age or a count.
            if self.counted_thing_before(text, m.start()) {
                continue;
            }
            out.push(Hit::new(FindingKind::StreetAddress, m.start(), m.end(), 75));
            let tail = &text[m.end()..];
            if let Some(t) = self.address_tail.captures(tail) {
                let g = t.get(1).unwrap();
                out.push(Hit::new(
                    FindingKind::PostalCode,
                    m.end() + g.start(),
                    m.end() + g.end(),
                    70,
                ));
            }
        }
        for m in self.po_box.find_iter(text) {
            out.push(Hit::new(FindingKind::StreetAddress, m.start(), m.end(), 76));
            let tail = &text[m.end()..];
            if let Some(t) = self.address_tail.captures(tail) {
                let g = t.get(1).unwrap();
                out.push(Hit::new(
                    FindingKind::PostalCode,
                    m.end() + g.start(),
                    m.end() + g.end(),
                    70,
                ));
            }
        }
        for c in self.au_postcode.captures_iter(text) {
            let g = c.get(2).unwrap();
            let code: u32 = g.as_str().parse().unwrap_or(0);
            let ok = match &c[1] {
                "NSW" => (2000..=2999).contains(&code),
                "VIC" | "Vic" => (3000..=3999).contains(&code) || (8000..=8999).contains(&code),
                "QLD" | "Qld" => (4000..=4999).contains(&code) || (9000..=9999).contains(&code),
                "SA" => (5000..=5999).contains(&code),
                "WA" => (6000..=6999).contains(&code),
                "TAS" | "Tas" => (7000..=7999).contains(&code),
                "NT" => (800..=999).contains(&code),
                "ACT" => {
                    (200..=299).contains(&code)
                        || (2600..=2620).contains(&code)
                        || (2900..=2920).contains(&code)
                }
                _ => false,
            };
            if ok {
                out.push(Hit::new(FindingKind::PostalCode, g.start(), g.end(), 70));
            }
        }
        for c in self.us_zip.captures_iter(text) {
            let m = c.get(0).unwrap();
            // The state must follow a comma or a capitalised place name ("Columbus, OH 43215",
            // "Boise ID 83702"), not a lower-case word ("client ID 83702").
            let before = text[..m.start()].trim_end();
            let ok = before.ends_with(',')
                || before
                    .rsplit(|ch: char| ch.is_whitespace())
                    .next()
                    .and_then(|w| w.chars().next())
                    .is_some_and(char::is_uppercase);
            if ok {
                let g = c.get(1).unwrap();
                out.push(Hit::new(FindingKind::PostalCode, g.start(), g.end(), 70));
            }
        }
        for m in self.ca_postcode.find_iter(text) {
            out.push(Hit::new(FindingKind::PostalCode, m.start(), m.end(), 72));
        }
        for m in self.uk_postcode.find_iter(text) {
            let s = m.as_str();
            if s.ends_with("AM") || s.ends_with("PM") {
                continue;
            }
            out.push(Hit::new(FindingKind::PostalCode, m.start(), m.end(), 72));
        }
        for c in self.labeled_postcode.captures_iter(text) {
            let g = c.get(1).unwrap();
            if g.as_str().chars().any(|ch| ch.is_ascii_digit()) {
                out.push(Hit::new(FindingKind::PostalCode, g.start(), g.end(), 71));
            }
        }
    }

    /// True if the number starting at `num_start` is a count or level rather than a house number or
    /// a day ("Year 9 May", "aged 15 Ocean View").
    fn counted_thing_before(&self, text: &str, num_start: usize) -> bool {
        let before = text[..num_start].trim_end();
        let word: String = before
            .chars()
            .rev()
            .take_while(|c| c.is_alphabetic())
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        self.counted_words.contains(word.to_lowercase().as_str())
    }

    fn is_court_name(&self, words: &str, kind: &str) -> bool {
        let k = kind.to_ascii_lowercase();
        if k != "court" && k != "ct" {
            return false;
        }
        words.split_whitespace().any(|w| {
            let w = w.trim_end_matches(['\'', '’', 's']).to_lowercase();
            self.court_words.contains(w.as_str())
        })
    }

    fn handle_name_ok(&self, name: &str) -> bool {
        if name.len() < 2 {
            return false;
        }
        // "@5pm", "@10:30", "@home" are shorthand for "at", not handles.
        if name.chars().all(|c| c.is_ascii_digit()) {
            return false;
        }
        let lower = name.to_ascii_lowercase();
        let timeish = lower.trim_end_matches("am").trim_end_matches("pm");
        if !timeish.is_empty() && timeish.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return false;
        }
        if self.not_handles.contains(lower.as_str()) {
            return false;
        }
        true
    }

    fn labeled_id_ok(&self, c: &Captures) -> Option<(usize, usize)> {
        let label = c.name("label")?.as_str();
        let id = c.name("id")?;
        let conn = c.name("conn").map_or("", |m| m.as_str()).trim();
        let punct = c.name("punct").map_or("", |m| m.as_str());
        let l = label.to_ascii_lowercase();
        let weak = self.weak_id_labels.contains(l.as_str());
        if weak && conn.is_empty() && !(punct == ":" || punct == "#") {
            return None;
        }
        let s = id.as_str();
        let digits = s.chars().filter(char::is_ascii_digit).count();
        let letters = s.chars().filter(char::is_ascii_alphabetic).count();
        let ok = digits >= 3 || (digits >= 2 && letters >= 1 && s.len() >= 4);
        if !ok {
            return None;
        }
        if s.len() == 4 && (s.starts_with("19") || s.starts_with("20")) && digits == 4 {
            return None; // a bare year
        }
        Some((id.start(), id.end()))
    }
}

/// True if the characters right around [s, e) are digits (part of a longer number).
fn digit_neighbours(text: &str, s: usize, e: usize) -> bool {
    char_before(text, s).is_some_and(|c| c.is_ascii_digit())
        || char_at(text, e).is_some_and(|c| c.is_ascii_digit())
}

/// Decides whether a phone-shaped match is a personal phone number.
fn phone_ok(text: &str, s: usize, e: usize) -> bool {
    let m = &text[s..e];
    if let Some(c) = char_before(text, s)
        && (c.is_alphanumeric() || matches!(c, '$' | '£' | '€' | '/' | '#'))
    {
        return false;
    }
    if char_at(text, e).is_some_and(|c| c == '%' || c.is_alphanumeric()) {
        return false;
    }
    let digits: String = m.chars().filter(char::is_ascii_digit).collect();
    let n = digits.len();
    if !(7..=15).contains(&n) {
        return false;
    }
    let groups: Vec<&str> = m
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| !g.is_empty())
        .collect();
    // National form: strip a country code.
    let national: String = if let Some(rest) = m.strip_prefix('+').or_else(|| m.strip_prefix("00"))
    {
        let d: String = rest.chars().filter(char::is_ascii_digit).collect();
        if n < 9 {
            return false;
        }
        if let Some(r) = d.strip_prefix('1') {
            r.to_string()
        } else if let Some(r) = ["61", "64", "44", "353", "27"]
            .iter()
            .find_map(|cc| d.strip_prefix(cc))
        {
            format!("0{}", r.trim_start_matches('0'))
        } else {
            d
        }
    } else if m.starts_with("1") && !m.starts_with('(') && n == 11 {
        digits[1..].to_string()
    } else {
        digits.clone()
    };
    // Free-call and service numbers (Kids Helpline 1800 55 1800, Lifeline 13 11 14, Childline
    // 0800 1111, US toll-free 1-800) are not personal.
    for p in [
        "1800", "1300", "0800", "0808", "0508", "0500", "0845", "0870",
    ] {
        if national.starts_with(p) {
            return false;
        }
    }
    if national.len() == 10 && !national.starts_with('0') {
        let area = &national[..3];
        if matches!(
            area,
            "800" | "888" | "877" | "866" | "855" | "844" | "833" | "900"
        ) {
            return false;
        }
    }
    let plain = !m.starts_with('+') && !m.starts_with('(') && !m.starts_with("00");
    if plain && m.starts_with('0') {
        if n < 9 {
            return false;
        }
        if n == 9 && !(groups.first().is_some_and(|g| g.len() == 2) || m.starts_with("02")) {
            return false; // 3-3-3 shapes are tax/insurance numbers unless a NZ mobile (02x)
        }
    }
    if groups.len() == 2 && groups.iter().all(|g| g.len() == 4) {
        let years = groups
            .iter()
            .all(|g| g.parse::<u32>().is_ok_and(|y| (1900..=2099).contains(&y)));
        let round = groups.iter().all(|g| g.ends_with("00"));
        if years || round {
            return false;
        }
    }
    true
}
