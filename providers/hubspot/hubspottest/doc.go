// Package hubspottest is a simulated HubSpot account for tests: a real
// HTTP server (httptest, loopback) that speaks the CRM v3 objects API the
// way HubSpot does, so adapters and applications can be tested without a
// HubSpot account.
//
//	srv := hubspottest.NewServer(hubspottest.Options{})
//	defer srv.Close()
//	p := hubspot.New(hubspot.Config{BaseURL: srv.URL})
//	// ... write with p, token hubspottest.DefaultToken ...
//	props, ok := srv.Record("contacts", id)
//
// [Server.InProcessClient] serves the same API without a socket, for tests
// that run in a testing/synctest bubble on its fake clock (such as several
// Writers sharing one account's rate limit for minutes of fake time).
//
// # What it models from HubSpot's documentation and observed responses
//
//   - Paths: POST /crm/v3/objects/{objectType}, PATCH and DELETE (archive,
//     204) and GET .../{id} (with ?idProperty=), POST .../batch/create,
//     .../batch/update, .../batch/read, .../batch/archive; objectType is
//     the object's name or its type ID (0-1, 2-12345).
//   - Bearer auth; an unknown token gets 401 INVALID_AUTHENTICATION, an
//     expired one ([Server.ExpireToken]) 401 EXPIRED_AUTHENTICATION.
//   - Error bodies {status, message, correlationId, category, errors[{message,
//     code, context{propertyName}}], context}; invalid properties give 400
//     VALIDATION_ERROR "Property values were not valid: [...]" with
//     PROPERTY_DOESNT_EXIST, INVALID_OPTION and INVALID_EMAIL codes.
//   - Unique contact email: 409 CONFLICT "Contact already exists. Existing
//     ID: N".
//   - A batch create without objectWriteTraceIds that repeats a unique
//     value fails as a whole with 409 and HubSpot's bare conflict body,
//     about the first conflicting input only: {"status":"error","message":
//     "Contact already exists. Existing ID: N","correlationId":...,
//     "category":"CONFLICT"}: no context, no echoed value, no input index
//     (HubSpot/hubspot-api-python#51).
//   - Batches of at most 100 inputs. Batch create without objectWriteTraceId
//     fails as a whole (nothing stored; the body is not keyed per input);
//     with a unique objectWriteTraceId on every input it answers 207 with
//     results[] (carrying their objectWriteTraceId) and errors[] whose
//     context.objectWriteTraceId names the failed inputs, and numErrors.
//   - Batch update is always partial: 200, or 207 with an OBJECT_NOT_FOUND
//     error "Could not get some CONTACT objects, ..." listing the missing
//     IDs in context.ids; invalid properties reject the whole batch (400);
//     duplicate IDs give 400 "Duplicate IDs found in batch input: [...]".
//   - Batch read: requested properties (null when unset) plus hs_object_id,
//     createdate and lastmodifieddate; missing IDs give 207 OBJECT_NOT_FOUND.
//     With idProperty, inputs are values of that property.
//   - Batch upsert (POST .../batch/upsert, inputs {idProperty, id,
//     properties, objectWriteTraceId}): an idProperty without unique
//     values (only unique properties, such as a contact's email, qualify;
//     hs_object_id does not) fails the batch with 400 VALIDATION_ERROR
//     "Unable to perform update/upsert by non-unique 0-1 property ...", as
//     does a batch read with such an idProperty; the same id twice gives
//     400 "Duplicate IDs found in batch input"; results carry "new" (true
//     when created).
//   - Values stored as strings; "" clears a property.
//   - Rate limits: a rolling 10-second window and a daily budget that
//     resets at midnight in the account's time zone; 429 bodies with
//     policyName TEN_SECONDLY_ROLLING or DAILY and errorType RATE_LIMIT; the
//     X-HubSpot-RateLimit-Interval-Milliseconds, -Max, -Remaining, -Daily
//     and -Daily-Remaining headers on every response (the daily pair left
//     out with [Options.OAuth]).
//   - Associations on create in the v4 shape {to:{id}, types:[{associationCategory,
//     associationTypeId}]} with HubSpot's default type IDs (279 contact to
//     company, ...).
//
// # What it models on a guess (not confirmed by HubSpot's documentation)
//
//   - Error bodies for: an unknown top-level key or unparseable body (400
//     VALIDATION_ERROR "Invalid input JSON on line 1: ..."), more than 100
//     inputs (400 "Too many inputs: N. ..."), a missing association target or
//     unknown association type (400 VALIDATION_ERROR with codes
//     INVALID_ASSOCIATION_TARGET / INVALID_ASSOCIATION_TYPE and
//     context.toObjectId), mixed or duplicate objectWriteTraceIds (400).
//   - Type-error codes INVALID_DOUBLE, INVALID_BOOLEAN, INVALID_DATE,
//     INVALID_DATETIME, READ_ONLY_VALUE and INVALID_PROPERTY_VALUE, and
//     their messages.
//   - In a traced batch create, a property validation error fails only its
//     input (207), with context.objectWriteTraceId and context.propertyName.
//   - A unique value repeated inside one untraced batch create (no record
//     holds it yet) fails the batch with 409 CONFLICT "Contact already
//     exists: a value of a unique property appears twice in this batch",
//     naming no record.
//   - A unique-value conflict in a batch update or upsert fails only that
//     input (207, CONFLICT, context.ids and context.existingId, and the
//     input's objectWriteTraceId).
//   - 404 on a single update or read: "resource not found", category
//     OBJECT_NOT_FOUND, context.id.
//   - Archiving a record that does not exist answers 204.
//   - The 10-second window counts every authorized, non-faulted request
//     (errors included) for the whole account; 429 and 401 answers are not
//     counted; no Retry-After header on 429 unless a [Fault] sets one.
//   - 423 and 477 bodies (fault injection only).
//   - An unknown object type answers 400 "Unable to infer object type
//     from: x"; an unsupported method on a known path 405; an unknown path
//     404.
//   - Property values may be JSON strings, numbers or booleans (HubSpot's
//     schema says strings; numbers and booleans are stored in their JSON
//     text form); objects and arrays are refused.
//   - A batch with no inputs succeeds with no results.
//   - A batch read with no properties returns only hs_object_id,
//     createdate and lastmodifieddate (HubSpot returns a default set).
//   - An association type whose category differs from the one given, or
//     that does not start at the object written, is refused.
//   - Record IDs are small sequential numbers; correlation IDs are
//     UUID-shaped counters; record URLs use the portal ID of
//     [Options.Portal].
package hubspottest
