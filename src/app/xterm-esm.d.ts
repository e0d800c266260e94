// The terminal page imports xterm's ESM files by path (routes/sessions/$sessionId/terminal.tsx):
// the same modules as the packages' own entries, typed as them.
declare module '@xterm/xterm/lib/xterm.mjs' {
  export * from '@xterm/xterm'
}
declare module '@xterm/addon-fit/lib/addon-fit.mjs' {
  export * from '@xterm/addon-fit'
}
