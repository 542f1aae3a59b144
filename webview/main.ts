// The Loupe panel's script; the panel itself arrives with the webview issue.
export {};
