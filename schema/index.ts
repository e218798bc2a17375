export * from "./accounts";
export * from "./rooms";
export * from "./sync";
export * from "./keys";
export * from "./push";
