/** @module Catalogs apart from membership: digests in gossip, catalogs fetched over a stream when they change. */
export { CatalogSync, type CatalogSyncOptions } from "./catalog-backend.ts";
export { CatalogContract, pageProblem, type CatalogRequest } from "./contract.ts";
export {
  CATALOG_DIGEST_LABEL,
  CATALOG_LABEL_PREFIX,
  CATALOG_LIMITS,
  parseDigest,
  type CatalogView,
  type EntryValue,
  type WireEntry,
} from "./entries.ts";
export { OwnCatalog, type CatalogPage } from "./own-catalog.ts";
export { RemoteCatalogs, type FetchCatalog, type RemoteCatalogStats } from "./remote-catalogs.ts";
