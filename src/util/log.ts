export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Plain lines on stderr; stdout is kept for what the user asked for (the base URL, generated config). */
export function createLogger(level: LogLevel): Logger {
  const at = (wanted: LogLevel) => (message: string) => {
    if (ORDER[wanted] >= ORDER[level]) console.error(`${new Date().toISOString()} ${wanted.toUpperCase()} ${message}`);
  };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
