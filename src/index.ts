/**
 * @module Amoeba: typed RPC between services, in one process, on one machine
 * and across a network.
 */
export { startNode, connect, Node, type NodeOptions, type ConnectOptions, type ServeOptions } from "./node.ts";
export type { Peer } from "./peer.ts";
export type { Instance, LookupChange, LookupOptions, Member, MemberRecord, MemberState, MembershipEvent } from "./lookup/types.ts";
export type { LookupSettings } from "./lookup/start-lookup.ts";
export type { MembershipConfig } from "./lookup/membership/config.ts";
export type { Logger } from "./logger.ts";
export {
  contract,
  unary,
  stream,
  clientStream,
  bidiStream,
  topic,
  type Contract,
  type MethodDef,
  type MethodKind,
  type MethodSpec,
  type MethodMap,
  type Handlers,
  type HandlerOf,
  type Client,
  type ClientMethodOf,
  type StreamSource,
  type Topic,
  type ContractOptions,
  type MethodJsonSchema,
} from "./rpc/contract.ts";
export type { CallContext, CallerInfo } from "./rpc/context.ts";
export type { CallOptions, Meta } from "./rpc/call-options.ts";
export type { CallStream } from "./rpc/call-stream.ts";
export type { ClientOptions } from "./rpc/client.ts";
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
export { AddressError, type TlsClientOptions, type TlsServerOptions } from "./transport/index.ts";
export type { Engine, EngineHost, RunningEngine } from "./engine.ts";
export type { Connection, ConnectionHandler, Listener, Transport, TransportTable } from "./transport/index.ts";
