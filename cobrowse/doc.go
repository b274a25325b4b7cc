// Package cobrowse is Lotse's co-browse plane on the server: per
// conversation it holds the customer's latest DOM snapshot and the rrweb
// events since, validates every frame the customer sends before keeping
// or forwarding it, fans frames out to the advisors who view (a slow
// viewer skips ahead to the held state instead of holding anyone up; a
// late or reconnecting viewer gets the held state at once), and carries
// the advisors' pointer, highlights, control requests and — only while the
// customer has granted control — their actions back to the customer.
//
// The package knows nothing of HTTP or WebRTC: signalling hands it the
// bytes of each message from a participant's data channel or WebSocket
// (FromCustomer, FromViewer) and a Sink per participant for the way back.
// The wire protocol is in docs/cobrowse.md and protocol.go; the browser
// side lives in web-sdk/src/cobrowse. Sub-package assetproxy serves the
// page's stylesheets, images and fonts to advisors from Lotse's origin.
package cobrowse
