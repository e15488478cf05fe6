/**
 * @module The live dashboard: a page that shows the clusters, their nodes,
 * gateways and services as a graph with traffic on its links, the service
 * catalog with a form to call any method, and recent calls
 * (`import { startDashboard } from "amoeba/dashboard"`).
 */
export { startDashboard, Dashboard, DEFAULT_DASHBOARD_PORT, type DashboardOptions } from "./server.ts";
export { RECENT_CALLS_SERVICE } from "./recent-calls.ts";
export { DEFAULT_CALL_TIMEOUT_MS, MAX_CALL_TIMEOUT_MS, MAX_STREAM_ITEMS, type CallAnswer, type CallForm } from "./call.ts";
export type {
  CatalogInstance,
  CatalogService,
  ClusterView,
  DashboardSnapshot,
  GatewayView,
  LinkView,
  NodeView,
  RecentCallsView,
  SpanView,
  TraceView,
} from "./snapshot.ts";
