// Package rebound holds the domain of the Rebound URL shortener: users, links,
// events and clicks, the validation rules that apply to them, and the error type
// whose machine codes every transport maps to a status in one place.
//
// It imports nothing of the project's own; the store (postgres), the cache
// (cache), the admin API (origin) and the redirect server (edge) depend on it.
package rebound
