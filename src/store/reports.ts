import { asc } from "drizzle-orm";
import { contentReports } from "../../schema";
import type { Db } from "./db";

export type ContentReportRow = typeof contentReports.$inferSelect;
export type NewContentReport = Omit<typeof contentReports.$inferInsert, "id">;

/** Reports of rooms, events and users, for admins to read. */
export function createReportsStore(db: Db) {
  return {
    insert(report: NewContentReport): number {
      return db.insert(contentReports).values(report).returning({ id: contentReports.id }).get().id;
    },
    list(): ContentReportRow[] {
      return db.select().from(contentReports).orderBy(asc(contentReports.id)).all();
    },
  };
}
