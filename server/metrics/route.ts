/** `GET /metrics`: the server's Prometheus metrics (metrics.ts). Open like /health: it holds counts, never a credential or a payload. */
import type { FastifyInstance } from 'fastify';
import { METRICS_PATH, type ServerMetrics } from './metrics.js';

export function registerMetricsRoute(http: FastifyInstance, metrics: ServerMetrics): void {
  http.get(METRICS_PATH, async (_request, reply) => {
    const { contentType, text } = await metrics.render();
    return reply.type(contentType).send(text);
  });
}
