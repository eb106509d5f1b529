//! `GET /v1/events` (a filtered page) and `GET /v1/events/{seq}` (one record, optionally
//! with its inclusion proof).

use super::SeqPath;
use crate::auth::Caller;
use crate::error::Problem;
use crate::filters::{Params, to_query};
use crate::state::{AppState, read_event};
use auditlog::privacy::{PrivacyError, ProtectedMatch};
use auditlog::query::{Cursor, Order};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// One page of matching records.
///
/// Filters: see docs/SERVER.md. `order` is `oldest` (the default) or `newest`; `limit` is 1
/// to the server's page limit (default 100); `cursor` continues after the page that
/// returned it (same filters and order). Readers see only their tenants' records.
#[utoipa::path(get, path = "/v1/events", tag = "read",
    params(
        ("since" = Option<String>, Query, description = "RFC 3339; records at or after"),
        ("until" = Option<String>, Query, description = "RFC 3339; records before"),
        ("time_field" = Option<String>, Query, description = "recorded (default) or occurred"),
        ("actor" = Option<String>, Query, description = "Actor id"),
        ("entity_type" = Option<String>, Query, description = "Entity type"),
        ("entity_id" = Option<String>, Query, description = "Entity id (with entity_type)"),
        ("action" = Option<String>, Query, description = "Exact action"),
        ("action_prefix" = Option<String>, Query, description = "Action prefix"),
        ("tenant" = Option<String>, Query, description = "Tenant"),
        ("outcome" = Option<String>, Query, description = "success, failure, denied or error"),
        ("severity" = Option<String>, Query, description = "Exact severity"),
        ("min_severity" = Option<String>, Query, description = "At least this severity"),
        ("label" = Option<String>, Query, description = "Label"),
        ("text" = Option<String>, Query, description = "Text anywhere, case-insensitive"),
        ("protected" = Option<String>, Query, description = "FIELD=VALUE: a protected field holding this value, ignoring case (keyed blind index; tokens with the pii permission, a server with the master key)"),
        ("protected_subject" = Option<String>, Query, description = "With protected: try only this data subject's key"),
        ("order" = Option<String>, Query, description = "oldest (default) or newest"),
        ("limit" = Option<u32>, Query, description = "Records per page (default 100)"),
        ("cursor" = Option<String>, Query, description = "From the previous page"),
    ),
    responses(
        super::openapi::RequestProblems,
        (status = 200, description = "{records, cursor, has_more}", body = Value),
    ),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Json<Value>, Problem> {
    caller.require_reader()?;
    let mut query = to_query(
        &params,
        &["order", "limit", "cursor", "protected", "protected_subject"],
        &caller,
    )?;
    if let Some(lookup) = protected_lookup(&state, &caller, &params)? {
        query = query.protected(lookup);
    }
    if let Some(order) = params.parsed("order", |v| match v {
        "oldest" | "asc" => Ok(Order::OldestFirst),
        "newest" | "desc" => Ok(Order::NewestFirst),
        _ => Err("give oldest or newest".to_string()),
    })? {
        query = query.order(order);
    }
    let max = state.limits().max_page;
    let limit = params
        .parsed("limit", |v| match v.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(format!("give a number from 1 to {max}")),
        })?
        .unwrap_or(100.min(max));
    query = query.limit(limit);
    if let Some(cursor) = params.parsed("cursor", |v| {
        v.parse::<Cursor>()
            .map_err(|e| format!("{e} (pass back the cursor of the previous page unchanged)"))
    })? {
        query = query.after(cursor);
    }
    state.metrics().queries.inc();
    let page = state.blocking(move |log| Ok(log.query(&query)?)).await?;
    let records: Vec<Value> = page
        .records
        .iter()
        .map(|r| serde_json::to_value(state.present(&caller, r.clone())).unwrap_or(Value::Null))
        .collect();
    let mut filters = params.to_json();
    if let Some(lookup) = filters.get_mut("protected") {
        // The read is audited, but the value looked up is personal data: only its field.
        let field = lookup
            .as_str()
            .and_then(|v| v.split_once('='))
            .map(|(f, _)| f);
        *lookup = Value::String(format!("{}=[protected]", field.unwrap_or("")));
    }
    let event = read_event(
        &caller,
        "audit.read",
        "GET /v1/events",
        filters,
        records.len() as u64,
    );
    state.audit_read(state.mark_reveal(&caller, event)).await?;
    Ok(Json(json!({
        "records": records,
        "cursor": page.cursor.to_string(),
        "has_more": page.has_more,
    })))
}

/// The lookup `protected=FIELD=VALUE` asks for (docs/PRIVACY.md, "Lookups by a protected
/// value"). Only for tokens that may read personal data in clear: a masked reader could
/// otherwise confirm a guess of a value it may not see.
fn protected_lookup(
    state: &AppState,
    caller: &Caller,
    params: &Params,
) -> Result<Option<ProtectedMatch>, Problem> {
    let subject = params.get("protected_subject")?;
    let Some(spec) = params.get("protected")? else {
        if subject.is_some() {
            return Err(Problem::bad_request(
                "bad-parameter",
                "`protected_subject` goes with `protected=FIELD=VALUE`",
            )
            .with("parameter", "protected_subject"));
        }
        return Ok(None);
    };
    let bad = |detail: String| {
        Problem::bad_request("bad-parameter", detail).with("parameter", "protected")
    };
    let Some((field, value)) = spec.split_once('=') else {
        return Err(bad(
            "`protected` is FIELD=VALUE (e.g. actor.email=alice@example.com)".into(),
        ));
    };
    let Some(vault) = state.log().vault() else {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "no-privacy-policy",
            "this log was created without a privacy policy: no field is protected \
             (filter on the field directly)",
        ));
    };
    if !caller.pii {
        return Err(Problem::forbidden(format!(
            "token {} has no pii permission: looking up a protected value needs it \
             (auditlog token add --pii)",
            caller.id
        )));
    }
    match vault.lookup(field.trim(), value, subject) {
        Ok(lookup) => Ok(Some(lookup)),
        Err(PrivacyError::LookupNeedsMasterKey) => Err(Problem::new(
            StatusCode::CONFLICT,
            "no-master-key",
            "the server was started without the master key (--master-key-file): it cannot \
             look up protected values",
        )),
        Err(e) => Err(bad(format!("`protected`: {e}"))),
    }
}

/// One record. With `?proof=inclusion` (auditors and admins), also its RFC 9162 inclusion
/// proof against the newest signed checkpoint covering it (else the current tree), or with
/// `tree_size=N` against the tree of the first N records (N > seq; 404 while the log holds
/// fewer).
#[utoipa::path(get, path = "/v1/events/{seq}", tag = "read",
    params(
        ("seq" = u64, Path, description = "The record's sequence number"),
        ("proof" = Option<String>, Query, description = "inclusion: add the inclusion proof"),
        ("tree_size" = Option<u64>, Query, minimum = 1, maximum = 9223372036854775807_i64, description = "With proof=inclusion: prove against the tree of this many records (more than seq, at most the log's size)"),
    ),
    responses(
        super::openapi::RequestProblems,
        (status = 200, description = "{record} or {record, proof}", body = Value),
        super::openapi::NotFound,
    ),
    security(("bearer" = [])))]
pub async fn one(
    State(state): State<AppState>,
    caller: Caller,
    SeqPath(seq): SeqPath,
    params: Params,
) -> Result<Json<Value>, Problem> {
    caller.require_reader()?;
    if let Some((k, _)) = params
        .0
        .iter()
        .find(|(k, _)| k != "proof" && k != "tree_size")
    {
        return Err(Problem::bad_request(
            "unknown-filter",
            format!(
                "unknown parameter `{k}`: this endpoint takes only proof=inclusion and tree_size"
            ),
        )
        .with("parameter", k.as_str()));
    }
    let proof = match params.get("proof")? {
        None => false,
        Some("inclusion") => true,
        Some(other) => {
            return Err(Problem::bad_request(
                "bad-parameter",
                format!("`proof={other}`: the only proof of a record is proof=inclusion"),
            )
            .with("parameter", "proof"));
        }
    };
    // The bounds /openapi.json declares (1 to i64::MAX), and more than `seq`.
    let tree_size = params.parsed("tree_size", |v| match v.parse::<u64>() {
        Ok(n) if n > seq && n <= i64::MAX as u64 => Ok(n),
        Ok(n) if (1..=i64::MAX as u64).contains(&n) => Err(format!(
            "a tree of {n} records does not hold record #{seq}: give more than {seq}"
        )),
        _ => Err(format!("give a number from 1 to {}", i64::MAX)),
    })?;
    if tree_size.is_some() && !proof {
        return Err(Problem::bad_request(
            "bad-parameter",
            "`tree_size` is the size of the proof's tree: give it with proof=inclusion",
        )
        .with("parameter", "tree_size"));
    }
    if proof {
        caller.require_auditor()?;
    }
    state.metrics().queries.inc();
    // A caller limited to tenants gets one answer for a missing record and for another
    // tenant's: it learns nothing of other tenants, not even which numbers exist.
    let hidden = || {
        Problem::not_found(format!(
            "no record #{seq} among the tenants of token {}",
            caller.id
        ))
    };
    let scoped = caller.read_scope().is_some();
    let record = match state.blocking(move |log| Ok(log.get(seq)?)).await {
        Err(p) if scoped && p.status == axum::http::StatusCode::NOT_FOUND => Err(hidden()),
        other => other,
    }?;
    if !caller.may_see(record.event.tenant.as_deref()) {
        return Err(hidden());
    }
    // The proof covers the record as stored (its protected values as ciphertext); the
    // record shown is what the caller may see of it.
    let mut doc = json!({ "record": state.present(&caller, record) });
    if proof {
        state.metrics().proofs.inc();
        let value = state
            .blocking(move |log| {
                let end = log.end_seq();
                if let Some(n) = tree_size.filter(|&n| n > end) {
                    return Err(Problem::not_found(format!(
                        "no tree of {n} records: the log holds {end}"
                    )));
                }
                Ok(log.prove_inclusion(seq, tree_size)?)
            })
            .await?;
        doc["proof"] = value;
    }
    let endpoint = match proof {
        true => "GET /v1/events/{seq}?proof=inclusion",
        false => "GET /v1/events/{seq}",
    };
    let event = read_event(&caller, "audit.read", endpoint, json!({ "seq": seq }), 1);
    state.audit_read(state.mark_reveal(&caller, event)).await?;
    Ok(Json(doc))
}
