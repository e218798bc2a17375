export * from "./accounts";
export * from "./rooms";
export * from "./sync";
export * from "./keys";
export * from "./reports";
export * from "./openid";
export * from "./relations";
export * from "./media";
