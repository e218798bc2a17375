import { defineConfig } from "drizzle-kit";

// `bun run db:generate` writes a new SQL migration into schema/migrations after
// a change to the tables in schema/. src/store/migrations.ts embeds them.
export default defineConfig({
  dialect: "sqlite",
  schema: "./schema/index.ts",
  out: "./schema/migrations",
});
