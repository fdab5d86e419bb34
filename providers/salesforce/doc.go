// Package salesforce is the writeback adapter for the Salesforce REST API.
//
// A [Provider] writes single records through the sObject resources
// (POST /services/data/vXX.X/sobjects/{SObject}, PATCH and DELETE
// .../sobjects/{SObject}/{id}) and batches of up to 100 records through sObject
// Collections (/services/data/vXX.X/composite/sobjects) with allOrNone, so an
// all-or-nothing batch is atomic at Salesforce. For the ifEmpty overwrite rule
// it reads current values with one Collections retrieve per batch. The base
// URL of every call is the installation's Connection.InstanceURL, such as
// https://mydomain.my.salesforce.com.
//
// Errors are classified into [writeback.ProviderError]: 403
// REQUEST_LIMIT_EXCEEDED is a quota to wait out (never an auth failure),
// UNABLE_TO_LOCK_ROW and 5xx are temporary, DUPLICATE_VALUE and
// DUPLICATES_DETECTED are conflicts, validation codes are invalid input with
// their fields, and ALL_OR_NONE_OPERATION_ROLLED_BACK marks the records an
// all-or-nothing batch rolled back.
//
// Every response's Sforce-Limit-Info header (api-usage=used/limit) feeds the
// shared pacer, which refuses to spend the last part of the org's daily API
// budget (10% by default, [Config.Reserve]): that reserve belongs to the
// customer's other integrations. [Provider.APIUsage] reports the latest
// figures.
//
// Credentials come from the installation's oauth2.TokenSource. [NewTokenSource]
// implements Salesforce's OAuth 2.0 refresh-token flow: the application owns
// the refresh token and is told about every refreshed token; a 401
// INVALID_SESSION_ID makes the adapter refresh once and resend once.
//
// Pass-through headers such as Sforce-Auto-Assign, Sforce-Duplicate-Rule-Header
// and Sforce-Call-Options are sent with creates, updates, deletes and batches.
// Headers that would change the call itself (Authorization, Content-Type,
// Host, hop-by-hop headers, ...) are refused before anything is sent.
//
// Package salesforcetest provides a strict Salesforce simulator to test
// against.
package salesforce
