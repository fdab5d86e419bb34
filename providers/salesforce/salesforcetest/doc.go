// Package salesforcetest is a simulated Salesforce org for tests: a real
// HTTP server (httptest) that enforces the REST API's rules the way an org
// does, so code that passes against it works against a real org.
//
// It serves the sObject rows (POST /services/data/vXX.X/sobjects/{SObject},
// GET, PATCH and DELETE .../{id}), sObject Collections (create, update,
// delete, retrieve by GET and POST), and the OAuth 2.0 token endpoint
// (/services/oauth2/token, refresh_token grant). It checks:
//
//   - sessions: a missing, unknown or expired bearer token gets 401
//     [{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}];
//   - the daily API budget: every counted request carries
//     Sforce-Limit-Info: api-usage=used/limit, and once it is spent requests
//     get 403 REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded.";
//   - schemas: unknown fields (INVALID_FIELD "No such column 'X' on sobject
//     of type Account"), values of the wrong type (JSON_PARSER_ERROR),
//     required fields (REQUIRED_FIELD_MISSING with fields), text lengths
//     (STRING_TOO_LONG), emails, restricted picklists, lookups, read-only
//     fields, unique fields (DUPLICATE_VALUE), validation rules and
//     duplicate rules (DUPLICATES_DETECTED unless an alerting rule is
//     bypassed with Sforce-Duplicate-Rule-Header: allowSave=true);
//   - Collections: at most 200 records, attributes.type on each, results
//     in order, allOrNone rollback with ALL_OR_NONE_OPERATION_ROLLED_BACK on
//     the valid records;
//   - record IDs: 18-character IDs with the object's key prefix (001
//     Account, 003 Contact, 00Q Lead) and the case-checksum suffix; 15- and
//     18-character forms are both accepted.
//
// A record deleted through the API stays in the Recycle Bin: reading,
// updating or deleting its row again answers 404 ENTITY_IS_DELETED, while
// a row ID of no record, of another object or of the wrong shape answers
// 404 NOT_FOUND (in Collections: INVALID_CROSS_REFERENCE_KEY or
// MALFORMED_ID).
//
// Faults can be injected ([Server.InjectFault]): 5xx answers, latency,
// connections dropped before or after the write took effect, and
// UNABLE_TO_LOCK_ROW. The server records every call with its headers and
// exposes the records, API usage and token requests for assertions. The
// clock is injectable ([Options.NowFunc]), and [Server.InProcessClient]
// serves the API without a socket, for tests in a testing/synctest bubble
// on its fake clock.
package salesforcetest
