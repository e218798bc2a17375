export * from "./accounts";
export * from "./rooms";
