/**
 * Optional OpenTelemetry traces (issue #12): off unless an OTLP endpoint is set
 * (OTEL_EXPORTER_OTLP_ENDPOINT, or TETHER_OTEL_ENDPOINT; src/lib/settings). While off, nothing
 * of the SDK is loaded and every helper here is one boolean test: no span objects, no context
 * switches. `startTracing` loads the SDK by dynamic import, registers an AsyncLocalStorage context
 * manager (so spans started while handling a request become its children) and a batching
 * OTLP/HTTP (JSON) exporter.
 *
 * Spans (specs/operations.md "Logs and traces"): `HTTP <method> <route class>` per request, the
 * writer / gate work inside it, `sqlite.commit` per queued write (write-queue.ts), and
 * `turn.first_token` from the server's `accepted` turn record to the turn's first assistant chunk
 * (tracing-turns.ts). Attributes carry ids, sizes and statuses, never tokens, bodies or headers.
 */
import { context, type Context, type Span, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api'

export interface TracingOptions {
  /** OTLP/HTTP base URL (`/v1/traces` is appended, as OTEL_EXPORTER_OTLP_ENDPOINT means). */
  endpoint: string
  serviceName?: string
  /** Export each span as it ends instead of in batches (tests). */
  immediate?: boolean
}

export interface TracingHandle {
  /** Sends every ended span now. */
  flush(): Promise<void>
  /** Flushes, then turns tracing off again (global provider and context manager removed). */
  stop(): Promise<void>
}

let tracer: Tracer | null = null

/** True while traces are on: callers skip all span work otherwise. */
export function tracingOn(): boolean {
  return tracer !== null
}

/** `<endpoint>/v1/traces`, the OTLP/HTTP traces path below a base endpoint. */
export function tracesUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, '')
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`
}

export async function startTracing(opts: TracingOptions): Promise<TracingHandle> {
  if (tracer) throw new Error('tracing is already on')
  // Loaded only here: a server without an endpoint never pays for the SDK.
  const [{ TracerProvider, BatchSpanProcessor, SimpleSpanProcessor }, { OTLPTraceExporter }, { AsyncLocalStorageContextManager }, { resourceFromAttributes }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/context-async-hooks'),
      import('@opentelemetry/resources'),
    ])
  const exporter = new OTLPTraceExporter({ url: tracesUrl(opts.endpoint) })
  const processor = opts.immediate ? new SimpleSpanProcessor({ exporter }) : new BatchSpanProcessor({ exporter })
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': opts.serviceName ?? 'tether' }),
    spanProcessors: [processor],
  })
  const contextManager = new AsyncLocalStorageContextManager().enable()
  context.setGlobalContextManager(contextManager)
  trace.setGlobalTracerProvider(provider)
  tracer = provider.getTracer('tether')
  let stopped: Promise<void> | null = null
  return {
    flush: () => provider.forceFlush(),
    stop() {
      stopped ??= (async () => {
        tracer = null
        await provider.forceFlush()
        await provider.shutdown()
        trace.disable()
        context.disable()
      })()
      return stopped
    },
  }
}

/** Attribute values: only primitives (never objects, so no body or header can slip in). */
export type SpanAttributes = Record<string, string | number | boolean | undefined>

/**
 * Runs `fn` inside a new span (a child of the active one). Off: runs `fn` as is. The span ends
 * when `fn` settles; a throw marks it as an error (the message only, no stack with values).
 */
export function inSpan<T>(name: string, attributes: SpanAttributes, fn: (span: Span | null) => Promise<T>): Promise<T> {
  const t = tracer
  if (!t) return fn(null)
  return t.startActiveSpan(name, { attributes: clean(attributes) }, async (span) => {
    try {
      return await fn(span)
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) })
      throw err
    } finally {
      span.end()
    }
  })
}

/** A server span for one HTTP request; ended by the caller with the status. */
export function inRequestSpan(name: string, attributes: SpanAttributes, fn: (span: Span | null) => Promise<Response>): Promise<Response> {
  const t = tracer
  if (!t) return fn(null)
  return t.startActiveSpan(name, { kind: SpanKind.SERVER, attributes: clean(attributes) }, async (span) => {
    try {
      const res = await fn(span)
      span.setAttribute('http.response.status_code', res.status)
      if (res.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
      return res
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) })
      throw err
    } finally {
      span.end()
    }
  })
}

/** The active context to parent later spans on (null while off). */
export function activeContext(): Context | null {
  return tracer ? context.active() : null
}

/** Starts a span under `parent` (or the active context) that the caller ends; null while off. */
export function startSpan(name: string, attributes: SpanAttributes, parent?: Context | null, startTime?: number): Span | null {
  const t = tracer
  if (!t) return null
  return t.startSpan(name, { attributes: clean(attributes), ...(startTime !== undefined ? { startTime } : {}) }, parent ?? context.active())
}

function clean(attributes: SpanAttributes): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  for (const [k, v] of Object.entries(attributes)) if (v !== undefined) out[k] = v
  return out
}
