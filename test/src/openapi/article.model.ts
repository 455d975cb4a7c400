import { ApiProperty } from '@nestjs/swagger';

/** A class documented with @ApiProperty(), referred to by both media types of a route. */
export class Article {
  @ApiProperty({ type: String })
  id!: string;

  @ApiProperty({ type: String })
  title!: string;
}
