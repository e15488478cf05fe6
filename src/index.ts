/**
 * @module Amoeba: typed RPC between services, in one process, on one machine
 * and across a network.
 */
export { startNode, connect, Node, type NodeOptions, type ConnectOptions, type ServeOptions } from "./node/index.ts";
export type { Peer } from "./node/peer.ts";
export type { Instance, LookupChange, LookupOptions, Member, MemberRecord, MemberState, MembershipEvent } from "./lookup/types.ts";
export type { LookupSettings } from "./lookup/start-lookup.ts";
export type { MembershipConfig } from "./lookup/membership/config.ts";
export type { Logger } from "./logger.ts";
export { contract, unary, stream, clientStream, bidiStream, topic, type Contract, type MethodDef, type MethodKind, type MethodSpec, type MethodMap, type Topic, type ContractOptions, type MethodJsonSchema } from "./rpc/contract.ts";
export { type Handlers, type HandlerOf, type Client, type ClientMethodOf, type StreamSource } from "./rpc/context.ts";
export { service, type ServiceDefinition } from "./rpc/service-module.ts";
export type { CallContext, CallerInfo } from "./rpc/context.ts";
export type { CallOptions, Meta } from "./rpc/call-options.ts";
export type { CallStream } from "./rpc/call-stream.ts";
export type { ClientOptions } from "./rpc/context.ts";
export type {
  CallOutcome,
  ClientInterceptor,
  ClientNext,
  EventInterceptor,
  EventMessage,
  EventNext,
  NodeInterceptors,
  ServerInterceptor,
  ServerNext,
} from "./rpc/context.ts";
export type { AttemptObserver, CallRequest } from "./rpc/context.ts";
export { watchOutcome, type OutcomeListener } from "./rpc/served-outcome.ts";
export { principalsOf, type AuthorizationPolicy, type AuthorizationRule } from "./rpc/authorization.ts";
export { hashToken, newToken, tokenTable, type TokenEntry, type TokenVerifier } from "./rpc/tokens.ts";
export { RpcError, isRpcError, type RpcErrorOptions, type TriedInstance } from "./rpc/rpc-error.ts";
export { STATUS_CODES, type StatusCode } from "./rpc/status.ts";
export { DEFAULT_LIMITS, type Limits } from "./rpc/limits.ts";
export type { AdmissionCounts, AdmissionStats, ServiceAdmissionCounts } from "./rpc/admission.ts";
export type { EventHandler, EventInfo, PayloadOf, TopicRef } from "./rpc/topics.ts";
export type { SchemaIssue, StandardSchemaV1 } from "./rpc/schema.ts";
export { satisfies } from "./rpc/version.ts";
export { ReflectionContract, type ServiceDescription, type MethodDescription } from "./rpc/reflection.ts";
export type { BalancePolicy, BalanceStrategy } from "./balance/policy.ts";
export type { InstanceStats, ServiceStats } from "./balance/service-balancer.ts";
export type { OutlierOptions } from "./balance/outlier.ts";
export type { RetryBudgetOptions } from "./balance/retry-budget.ts";
export { StatsContract, type NodeStats } from "./balance/stats-contract.ts";
export type { TracesOptions } from "./observe/traces-options.ts";
export type { RecentCall, RecentCallsQuery } from "./observe/recent-calls.ts";
export { TracesContract, type RecentCallsReport } from "./observe/traces-contract.ts";
export { stitchTrace, type TraceStep } from "./observe/stitch.ts";
export type { ServedMethodStats } from "./metrics/node-metrics.ts";
export { AddressError, ExposureError, type PeerCertificate, type TlsClientOptions, type TlsServerOptions } from "./transport/index.ts";
export {
  AmoebaError,
  ConnectError,
  EngineStoppedError,
  NodeClosedError,
  NoRespondersError,
  PeerNotReadingError,
  type AmoebaErrorCode,
} from "./transport/errors.ts";
export type { InboundLimits } from "./transport/inbound-limits.ts";
export type { Engine, EngineHost, RunningEngine } from "./engine.ts";
export type { Connection, ConnectionHandler, Listener, Transport, TransportTable } from "./transport/index.ts";
export { startGateway, Gateway } from "./route/gateway.ts";
export type { GatewayOptions, GatewayClusterOptions } from "./route/options.ts";
export type { AggregateSpec } from "./route/aggregation.ts";
export { GATEWAY_LABEL, type Route, type RouteEntry } from "./route-rules/route-label.ts";
export { HOPS_META, VIA_META } from "./route/hops.ts";
export { GatewayContract, type AdvertisedRoute, type ForwardStats } from "./route/gateway-contract.ts";
export { parseRouteRules, ROUTE_META, type RouteRule, type RouteRules } from "./route-rules/rules.ts";
