/** The last lines a worker printed, kept in memory for logs(). */
export class LogBuffer {
  private lines: string[] = []
  private partial = ''

  constructor(private readonly maxLines = 2000) {}

  push(data: Buffer | string): void {
    const text = this.partial + data.toString()
    const parts = text.split('\n')
    this.partial = parts.pop() ?? ''
    this.lines.push(...parts)
    if (this.lines.length > this.maxLines) this.lines.splice(0, this.lines.length - this.maxLines)
  }

  text(tail?: number): string {
    const all = this.partial ? [...this.lines, this.partial] : this.lines
    return (tail === undefined ? all : all.slice(-tail)).join('\n')
  }
}
