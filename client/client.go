// Package client embeds the browser client realtime.js, which every
// `realtime` route serves to a plain GET with the query "client"
// (`import { RealtimeClient } from '/ws?client'`), so that binary and
// container users have the client that matches their server.
package client

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
)

// Script is realtime.js, an ES module with no dependencies.
//
//go:embed realtime.js
var Script []byte

// ETag is a strong validator of Script.
var ETag = func() string {
	sum := sha256.Sum256(Script)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}()
