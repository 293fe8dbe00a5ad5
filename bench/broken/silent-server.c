/* silent-server.c - a broken "lesson program" for bench/grade-broken: it
 * listens on 127.0.0.1 (a kernel-chosen port), says so as the lesson servers
 * do ("listening on 127.0.0.1:PORT"), accepts every connection, and never
 * reads, writes or closes one. The connections pile up until it is killed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd == -1) {
        perror("socket");
        return 1;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) == -1 || listen(fd, SOMAXCONN) == -1 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) == -1) {
        perror("bind/listen/getsockname");
        return 1;
    }
    printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(addr.sin_port));
    fflush(stdout);
    for (;;)
        if (accept(fd, NULL, NULL) == -1)
            sleep(1);   /* out of fds: wait, still saying nothing */
}
